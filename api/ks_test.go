package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/cairn-rag/cairn/answer"
	"github.com/cairn-rag/cairn/api"
	"github.com/cairn-rag/cairn/ask"
	"github.com/cairn-rag/cairn/ask/asktest"
	"github.com/cairn-rag/cairn/embed"
	"github.com/cairn-rag/cairn/ingest"
	"github.com/cairn-rag/cairn/ingest/ingesttest"
	"github.com/cairn-rag/cairn/internal/testdb"
	"github.com/cairn-rag/cairn/retrieval"
	"github.com/cairn-rag/cairn/tenants"
	"github.com/cairn-rag/cairn/threads"
)

// The tests of the Knowledge Stack surface send requests shaped exactly
// as Knowledge Stack's TypeScript SDK (knowledgestack/ks-sdk-ts, its
// ThreadsApi and ThreadMessagesApi) sends them: the method and path under
// basePath https://host/ks, its query names, its JSON names (undefined
// fields left out, explicit nulls kept), dates as Date.toISOString()
// (milliseconds, Z), booleans as "true"/"false"; and they check every
// field the SDK's FromJSON of each response model requires, with its type.

type ksServer struct {
	h      http.Handler
	pool   *pgxpool.Pool
	ingest *ingest.Service
	tenant uuid.UUID
	key    string
}

func newKSServer(t *testing.T) ksServer {
	t.Helper()
	pool := testdb.Pool(t)
	cfg := testdb.Config(t, nil)
	cfg.ModelTimeout = 10 * time.Second
	svc := ingesttest.Service(t, pool, ingest.Options{MaxBytes: cfg.MaxUploadBytes}, 2)
	s, err := retrieval.New(pool, embed.NewHashing(), retrieval.Config{})
	require.NoError(t, err)
	tenant, key := testdb.Tenant(t, pool)
	h := api.New(api.Deps{Config: cfg, Pool: pool, Tenants: tenants.NewStore(pool), Ingest: svc, Threads: threads.NewStore(pool), Search: s,
		Ask: asktest.Service(t, pool, s, answer.Extractive{}, ask.Config{GenerationTimeout: ask.GenerationTimeout(cfg.ModelTimeout), Workers: 2})}).Handler()
	return ksServer{h: h, pool: pool, ingest: svc, tenant: tenant, key: key}
}

// sdk sends one request as the SDK does: bearer auth, a JSON body with
// Content-Type application/json, query parameters in q; the exchange is
// validated against api/openapi.yaml too (but for a path no route serves).
func (k ksServer) sdk(t *testing.T, method, path string, q url.Values, body string) (int, []byte) {
	t.Helper()
	target := "/ks" + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	req.Header.Set("Authorization", "Bearer "+k.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	k.h.ServeHTTP(rec, req)
	if !bytes.Contains(rec.Body.Bytes(), []byte(`"cairn_code":"route_not_found"`)) {
		api.ValidateAgainstSpec(t, req, []byte(body), rec)
	}
	return rec.Code, rec.Body.Bytes()
}

// sdkJSON is sdk expecting status want and a JSON object body.
func (k ksServer) sdkJSON(t *testing.T, want int, method, path string, q url.Values, body string) map[string]any {
	t.Helper()
	code, b := k.sdk(t, method, path, q, body)
	require.Equal(t, want, code, "%s %s: %s", method, path, b)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out), string(b))
	return out
}

// Field kinds of requireFields.
const (
	kUUID   = "uuid"
	kString = "string"
	kNumber = "number"
	kBool   = "bool"
	kDate   = "date"
	kObject = "object"
	kArray  = "array"
)

// requireFields checks that obj has each field of want, of its kind.
func requireFields(t *testing.T, model string, obj map[string]any, want map[string]string) {
	t.Helper()
	for name, kind := range want {
		v, ok := obj[name]
		require.Truef(t, ok, "%s.%s is required and missing in %v", model, name, obj)
		switch kind {
		case kUUID:
			s, ok := v.(string)
			require.Truef(t, ok, "%s.%s must be a string, got %T", model, name, v)
			_, err := uuid.Parse(s)
			require.NoErrorf(t, err, "%s.%s must be a UUID", model, name)
		case kString:
			_, ok := v.(string)
			require.Truef(t, ok, "%s.%s must be a string, got %T", model, name, v)
		case kNumber:
			_, ok := v.(float64)
			require.Truef(t, ok, "%s.%s must be a number, got %T", model, name, v)
		case kBool:
			_, ok := v.(bool)
			require.Truef(t, ok, "%s.%s must be a boolean, got %T", model, name, v)
		case kDate:
			s, ok := v.(string)
			require.Truef(t, ok, "%s.%s must be a date string, got %T", model, name, v)
			_, err := time.Parse(time.RFC3339Nano, s)
			require.NoErrorf(t, err, "%s.%s must be an ISO 8601 date", model, name)
		case kObject:
			_, ok := v.(map[string]any)
			require.Truef(t, ok, "%s.%s must be an object, got %T", model, name, v)
		case kArray:
			_, ok := v.([]any)
			require.Truef(t, ok, "%s.%s must be an array, got %T", model, name, v)
		}
	}
}

// The required fields of the SDK's models.
var (
	threadResponse = map[string]string{"id": kUUID, "path_part_id": kUUID, "title": kString, "materialized_path": kString,
		"tenant_id": kUUID, "created_at": kDate, "updated_at": kDate}
	messageResponse = map[string]string{"id": kUUID, "path_part_id": kUUID, "sequence": kNumber, "role": kString, "content": kObject,
		"parent_path_id": kUUID, "materialized_path": kString, "tenant_id": kUUID, "created_at": kDate, "updated_at": kDate}
	contentResponse   = map[string]string{"text": kString}
	referenceResponse = map[string]string{"ref_type": kString, "entity_id": kUUID, "display_name": kString}
	pageResponse      = map[string]string{"items": kArray, "total": kNumber, "limit": kNumber, "offset": kNumber}
	errorResponse     = map[string]string{"detail": kString, "code": kString}
	stepResponse      = map[string]string{"id": kString, "name": kString, "kind": kString, "start_time": kDate}
	userMessageResp   = map[string]string{"workflow_id": kUUID, "user_message_id": kUUID}
)

// requireError checks an ErrorResponse with Knowledge Stack's code.
func requireError(t *testing.T, b []byte, code string) map[string]any {
	t.Helper()
	var e map[string]any
	require.NoError(t, json.Unmarshal(b, &e), string(b))
	requireFields(t, "ErrorResponse", e, errorResponse)
	require.Equal(t, code, e["code"], string(b))
	return e
}

// isoMillis is a time as JavaScript's Date.toISOString() writes it.
func isoMillis(s string) string {
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return tm.UTC().Format("2006-01-02T15:04:05.000Z")
}

func items(t *testing.T, page map[string]any) []map[string]any {
	t.Helper()
	requireFields(t, "PaginatedResponse", page, pageResponse)
	var out []map[string]any
	for _, it := range page["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

func TestKSThreadsCRUD(t *testing.T) {
	t.Parallel()
	k := newKSServer(t)
	// A folder to file threads under, named by its path part id.
	res, err := k.ingest.Upload(context.Background(), k.tenant, ingest.UploadInput{Folder: "/kb/geo", Name: "paris.txt", Data: []byte(parisV1), MimeType: "text/plain"})
	require.NoError(t, err)
	var folder uuid.UUID
	require.NotNil(t, res.Job)
	require.NoError(t, k.pool.QueryRow(context.Background(), `SELECT id FROM path_parts WHERE tenant_id = $1 AND path = '/kb'`, k.tenant).Scan(&folder))

	th := k.sdkJSON(t, http.StatusCreated, "POST", "/v1/threads", nil, `{"title":"Quarterly plans","parent_path_part_id":"`+folder.String()+`"}`)
	requireFields(t, "ThreadResponse", th, threadResponse)
	require.Equal(t, "Quarterly plans", th["title"])
	require.Equal(t, "/kb/Quarterly plans", th["materialized_path"])
	require.Equal(t, k.tenant.String(), th["tenant_id"])
	require.Nil(t, th["parent_thread_id"])
	id := th["id"].(string)

	bare := k.sdkJSON(t, http.StatusCreated, "POST", "/v1/threads", nil, `{}`)
	requireFields(t, "ThreadResponse", bare, threadResponse)
	require.Equal(t, bare["id"], bare["title"], "an untitled thread is named by its id")

	got := k.sdkJSON(t, http.StatusOK, "GET", "/v1/threads/"+id, nil, "")
	require.Equal(t, th["id"], got["id"])

	up := k.sdkJSON(t, http.StatusOK, "PATCH", "/v1/threads/"+id, nil, `{"title":"Q3 plans","parent_thread_id":"`+bare["id"].(string)+`"}`)
	requireFields(t, "ThreadResponse", up, threadResponse)
	require.Equal(t, "Q3 plans", up["title"])
	require.Equal(t, bare["id"], up["parent_thread_id"])
	up = k.sdkJSON(t, http.StatusOK, "PATCH", "/v1/threads/"+id, nil, `{"title":null}`)
	require.Equal(t, "Q3 plans", up["title"], "a null title is unchanged")
	require.Equal(t, bare["id"], up["parent_thread_id"], "an absent parent_thread_id is unchanged")
	up = k.sdkJSON(t, http.StatusOK, "PATCH", "/v1/threads/"+id, nil, `{"parent_thread_id":null}`)
	require.Nil(t, up["parent_thread_id"], "null unlinks")

	code, b := k.sdk(t, "PATCH", "/v1/threads/"+id, nil, `{"parent_thread_id":"`+uuid.NewString()+`"}`)
	require.Equal(t, http.StatusNotFound, code)
	require.Equal(t, "parent_not_found", requireError(t, b, "not_found")["cairn_code"])
	code, b = k.sdk(t, "PATCH", "/v1/threads/"+id, nil, `{"title":"x/y"}`)
	require.Equal(t, http.StatusBadRequest, code, string(b))
	require.Equal(t, "title", requireError(t, b, "bad_request")["field"])
	code, b = k.sdk(t, "POST", "/v1/threads", nil, `{"parent_path_part_id":"`+uuid.NewString()+`"}`)
	require.Equal(t, http.StatusNotFound, code)
	requireError(t, b, "not_found")

	code, _ = k.sdk(t, "DELETE", "/v1/threads/"+id, nil, "")
	require.Equal(t, http.StatusNoContent, code)
	code, b = k.sdk(t, "GET", "/v1/threads/"+id, nil, "")
	require.Equal(t, http.StatusNotFound, code)
	require.Equal(t, "thread_not_found", requireError(t, b, "not_found")["cairn_code"])

	code, b = k.sdk(t, "GET", "/v1/threads/nope", nil, "")
	require.Equal(t, http.StatusBadRequest, code)
	requireError(t, b, "bad_request")
	code, b = k.sdk(t, "GET", "/v1/nothing", nil, "")
	require.Equal(t, http.StatusNotFound, code)
	requireError(t, b, "not_found")
	req := httptest.NewRequest("GET", "/ks/v1/threads", nil)
	rec := httptest.NewRecorder()
	k.h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	requireError(t, rec.Body.Bytes(), "unauthorized")
}

func TestKSListThreadsPagesAndFilters(t *testing.T) {
	t.Parallel()
	k := newKSServer(t)
	var ids []string
	for _, title := range []string{"Alpha one", "beta one", "alpha two", "ALPHA three", "beta two", "alpha four", "alpha five"} {
		th := k.sdkJSON(t, http.StatusCreated, "POST", "/v1/threads", nil, `{"title":"`+title+`"}`)
		ids = append(ids, th["id"].(string))
	}
	alphas := []string{ids[0], ids[2], ids[3], ids[5], ids[6]}

	// Three pages, oldest first, of the threads whose title has "alpha".
	var seen []string
	for i, want := range []int{2, 2, 1} {
		q := url.Values{"title_like": {"alpha"}, "sort_by": {"CREATED_AT"}, "sort_dir": {"ASC"}, "limit": {"2"}, "offset": {strconv.Itoa(2 * i)}}
		page := k.sdkJSON(t, http.StatusOK, "GET", "/v1/threads", q, "")
		its := items(t, page)
		require.Len(t, its, want)
		require.EqualValues(t, 5, page["total"])
		require.EqualValues(t, 2, page["limit"])
		require.EqualValues(t, 2*i, page["offset"])
		for _, it := range its {
			requireFields(t, "ThreadResponse", it, threadResponse)
			seen = append(seen, it["id"].(string))
		}
	}
	require.Equal(t, alphas, seen)

	desc := items(t, k.sdkJSON(t, http.StatusOK, "GET", "/v1/threads", url.Values{"sort_dir": {"DESC"}, "limit": {"100"}}, ""))
	require.Len(t, desc, 7)
	require.Equal(t, ids[6], desc[0]["id"], "newest first")

	// A message makes a thread the most recently updated.
	k.sdkJSON(t, http.StatusCreated, "POST", "/v1/threads/"+ids[0]+"/messages", nil, `{"role":"USER","content":{"text":"hello"}}`)
	byUpdate := items(t, k.sdkJSON(t, http.StatusOK, "GET", "/v1/threads", url.Values{"sort_by": {"UPDATED_AT"}}, ""))
	require.Equal(t, ids[0], byUpdate[0]["id"])

	none := k.sdkJSON(t, http.StatusOK, "GET", "/v1/threads", url.Values{"title_like": {"gamma"}}, "")
	require.Empty(t, items(t, none))
	require.EqualValues(t, 0, none["total"])

	future := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
	past := time.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
	require.EqualValues(t, 0, k.sdkJSON(t, http.StatusOK, "GET", "/v1/threads", url.Values{"created_after": {future}}, "")["total"])
	require.EqualValues(t, 7, k.sdkJSON(t, http.StatusOK, "GET", "/v1/threads", url.Values{"created_after": {past}, "created_before": {future}, "updated_before": {future}, "updated_after": {past}}, "")["total"])

	code, b := k.sdk(t, "GET", "/v1/threads", url.Values{"titel_like": {"alpha"}}, "")
	require.Equal(t, http.StatusBadRequest, code)
	e := requireError(t, b, "bad_request")
	require.Equal(t, "unknown_parameter", e["cairn_code"])
	require.Contains(t, e["detail"], `"titel_like"`)
	code, b = k.sdk(t, "GET", "/v1/threads", url.Values{"sort_by": {"NAME"}}, "")
	require.Equal(t, http.StatusBadRequest, code)
	requireError(t, b, "bad_request")
	code, _ = k.sdk(t, "GET", "/v1/threads", url.Values{"sort_dir": {"sideways"}}, "")
	require.Equal(t, http.StatusBadRequest, code)
}

func TestKSMessagesPagesAndFilters(t *testing.T) {
	t.Parallel()
	k := newKSServer(t)
	th := k.sdkJSON(t, http.StatusCreated, "POST", "/v1/threads", nil, `{"title":"chat"}`)
	tid := th["id"].(string)
	var ids []string
	for i := range 7 {
		role := "USER"
		body := `{"role":"USER","content":{"text":"question ` + strconv.Itoa(i) + ` – café 🎉"}}`
		if i%2 == 1 {
			role = "ASSISTANT"
			body = `{"message_id":"` + uuid.NewString() + `","role":"ASSISTANT","content":{"text":"answer ` + strconv.Itoa(i) + `","is_error":false,"citations":[],` +
				`"references":[{"ref_type":"THREAD","entity_id":"` + tid + `","display_name":"chat"}]},` +
				`"details":{"steps":[{"id":"s1","name":"search","kind":"tool_call","args":{"q":"x"},"detail":null,"start_time":"2026-01-02T03:04:05.000Z","end_time":null}]}}`
		}
		m := k.sdkJSON(t, http.StatusCreated, "POST", "/v1/threads/"+tid+"/messages", nil, body)
		requireFields(t, "ThreadMessageResponse", m, messageResponse)
		require.Equal(t, role, m["role"])
		require.EqualValues(t, i+1, m["sequence"])
		ids = append(ids, m["id"].(string))
	}

	// Three pages, oldest first.
	var seen []string
	for i, want := range []int{3, 3, 1} {
		q := url.Values{"sort_dir": {"ASC"}, "limit": {"3"}, "offset": {strconv.Itoa(3 * i)}, "with_details": {"true"}}
		page := k.sdkJSON(t, http.StatusOK, "GET", "/v1/threads/"+tid+"/messages", q, "")
		its := items(t, page)
		require.Len(t, its, want)
		require.EqualValues(t, 7, page["total"])
		for _, it := range its {
			requireFields(t, "ThreadMessageResponse", it, messageResponse)
			c := it["content"].(map[string]any)
			requireFields(t, "EnrichedThreadMessageContent", c, contentResponse)
			if it["role"] == "ASSISTANT" {
				refs := c["references"].([]any)
				require.Len(t, refs, 1)
				ref := refs[0].(map[string]any)
				requireFields(t, "ResolvedReferenceOutput", ref, referenceResponse)
				require.Equal(t, "THREAD", ref["ref_type"])
				require.Equal(t, tid, ref["entity_id"])
				require.Equal(t, "chat", ref["display_name"])
				require.Equal(t, "/chat", ref["materialized_path"])
				steps := it["details"].(map[string]any)["steps"].([]any)
				requireFields(t, "Step", steps[0].(map[string]any), stepResponse)
			}
			seen = append(seen, it["id"].(string))
		}
	}
	require.Equal(t, ids, seen)

	// Newest first with the role filter, then keyset with before as the
	// SDK writes it (milliseconds).
	users := k.sdkJSON(t, http.StatusOK, "GET", "/v1/threads/"+tid+"/messages", url.Values{"role": {"USER"}, "limit": {"2"}, "with_details": {"false"}}, "")
	its := items(t, users)
	require.EqualValues(t, 4, users["total"])
	require.Equal(t, []string{ids[6], ids[4]}, []string{its[0]["id"].(string), its[1]["id"].(string)})
	for _, it := range its {
		require.Equal(t, "USER", it["role"])
		require.Nil(t, it["details"])
	}
	before := isoMillis(its[1]["created_at"].(string))
	older := k.sdkJSON(t, http.StatusOK, "GET", "/v1/threads/"+tid+"/messages", url.Values{"before": {before}, "role": {"USER"}}, "")
	require.Equal(t, []string{ids[2], ids[0]}, []string{items(t, older)[0]["id"].(string), items(t, older)[1]["id"].(string)})

	// Keyset pages newest first, each before the last item's created_at
	// in milliseconds: every message once, none skipped.
	seen = nil
	q := url.Values{"limit": {"3"}}
	for range 3 {
		its := items(t, k.sdkJSON(t, http.StatusOK, "GET", "/v1/threads/"+tid+"/messages", q, ""))
		for _, it := range its {
			seen = append(seen, it["id"].(string))
		}
		q.Set("before", isoMillis(its[len(its)-1]["created_at"].(string)))
	}
	require.Equal(t, []string{ids[6], ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}, seen)

	one := k.sdkJSON(t, http.StatusOK, "GET", "/v1/threads/"+tid+"/messages/"+ids[1], url.Values{"with_details": {"false"}}, "")
	requireFields(t, "ThreadMessageResponse", one, messageResponse)
	require.Nil(t, one["details"])
	one = k.sdkJSON(t, http.StatusOK, "GET", "/v1/threads/"+tid+"/messages/"+ids[1], nil, "")
	require.Equal(t, "s1", one["details"].(map[string]any)["steps"].([]any)[0].(map[string]any)["id"], "client details pass through")

	code, b := k.sdk(t, "GET", "/v1/threads/"+tid+"/messages", url.Values{"role": {"ROBOT"}}, "")
	require.Equal(t, http.StatusBadRequest, code)
	requireError(t, b, "bad_request")
	code, b = k.sdk(t, "POST", "/v1/threads/"+tid+"/messages", nil, `{"role":"USER","content":{"text":"x","references":[{"ref_type":"TAG","entity_id":"`+uuid.NewString()+`","display_name":"t"}]}}`)
	require.Equal(t, http.StatusUnprocessableEntity, code)
	requireError(t, b, "unprocessable_entity")
	code, b = k.sdk(t, "GET", "/v1/threads/"+uuid.NewString()+"/messages/"+ids[0], nil, "")
	require.Equal(t, http.StatusNotFound, code)
	requireError(t, b, "not_found")
}

// ksEvent is one event of the /ks stream, decoded.
type ksEvent struct {
	id, name string
	data     map[string]any
}

// readKSEvents reads the events of r up to the first done, which must be
// the done of message doneOf.
func readKSEvents(t *testing.T, r io.Reader, doneOf string) []ksEvent {
	t.Helper()
	var out []ksEvent
	for _, e := range readEvents(t, r, "done") {
		var d map[string]any
		require.NoError(t, json.Unmarshal([]byte(e.data), &d), e.data)
		out = append(out, ksEvent{id: e.id, name: e.name, data: d})
		if e.name == "done" {
			require.Equal(t, doneOf, d["message_id"])
		}
	}
	return out
}

func TestKSUserMessageAndStream(t *testing.T) {
	t.Parallel()
	k := newKSServer(t)
	res, err := k.ingest.Upload(context.Background(), k.tenant, ingest.UploadInput{Folder: "/kb/geo", Name: "paris.txt", Data: []byte(parisV1), MimeType: "text/plain"})
	require.NoError(t, err)
	_, err = k.ingest.WaitJob(context.Background(), k.tenant, res.Job.ID)
	require.NoError(t, err)
	tid := k.sdkJSON(t, http.StatusCreated, "POST", "/v1/threads", nil, `{"title":"geo"}`)["id"].(string)

	sub := k.sdkJSON(t, http.StatusAccepted, "POST", "/v1/threads/"+tid+"/user_message", nil, `{"input_text":"What is the capital of France?"}`)
	requireFields(t, "UserMessageResponse", sub, userMessageResp)
	wf := sub["workflow_id"].(string)

	srv := httptest.NewServer(k.h)
	t.Cleanup(srv.Close)
	open := func(q url.Values) []ksEvent {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		u := srv.URL + "/ks/v1/threads/" + tid + "/stream"
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		r, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		require.NoError(t, err)
		r.Header.Set("Authorization", "Bearer "+k.key)
		resp, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
		return readKSEvents(t, resp.Body, wf)
	}
	// Connected after user_message: the stream starts with the answer.
	evs := open(nil)
	require.Equal(t, "message_created", evs[0].name)
	require.Equal(t, "done", evs[len(evs)-1].name)
	var text strings.Builder
	var final map[string]any
	for _, e := range evs {
		require.Equal(t, e.id, e.data["entry_id"])
		require.Equal(t, e.name, e.data["type"])
		switch e.name {
		case "message_created", "message_completed":
			m := e.data["data"].(map[string]any)
			requireFields(t, "ThreadMessageResponse", m, messageResponse)
			require.Equal(t, wf, m["id"])
			final = m
		case "delta":
			text.WriteString(e.data["data"].(map[string]any)["text"].(string))
		case "step":
			st := e.data["data"].(map[string]any)
			requireFields(t, "Step", st, stepResponse)
			require.Contains(t, []any{"reasoning", "tool_call"}, st["kind"])
		}
	}
	require.Equal(t, "message_completed", evs[len(evs)-2].name)
	require.Contains(t, final["content"].(map[string]any)["text"], "Paris is the capital")
	require.Equal(t, final["content"].(map[string]any)["text"], text.String(), "the deltas make the answer")

	// Resume after an entry: the rest, exactly.
	mid := len(evs) / 2
	rest := open(url.Values{"last_message_id": {wf}, "last_entry_id": {evs[mid].id}})
	require.Equal(t, evs[mid+1:], rest)

	// The stored answer reads back with Knowledge Stack's steps.
	m := k.sdkJSON(t, http.StatusOK, "GET", "/v1/threads/"+tid+"/messages/"+wf, url.Values{"with_details": {"true"}}, "")
	requireFields(t, "ThreadMessageResponse", m, messageResponse)
	steps := m["details"].(map[string]any)["steps"].([]any)
	require.NotEmpty(t, steps)
	for _, s := range steps {
		requireFields(t, "Step", s.(map[string]any), stepResponse)
	}
	user := k.sdkJSON(t, http.StatusOK, "GET", "/v1/threads/"+tid+"/messages/"+sub["user_message_id"].(string), nil, "")
	require.Equal(t, "USER", user["role"])
	// The question and its answer, taken in one transaction, are a
	// millisecond apart, so a page boundary between them skips neither.
	newest := items(t, k.sdkJSON(t, http.StatusOK, "GET", "/v1/threads/"+tid+"/messages", url.Values{"limit": {"1"}}, ""))
	require.Equal(t, wf, newest[0]["id"])
	next := items(t, k.sdkJSON(t, http.StatusOK, "GET", "/v1/threads/"+tid+"/messages", url.Values{"limit": {"1"}, "before": {isoMillis(newest[0]["created_at"].(string))}}, ""))
	require.Equal(t, sub["user_message_id"], next[0]["id"])

	code, b := k.sdk(t, "POST", "/v1/threads/"+tid+"/user_message", nil, `{"input_text":"  "}`)
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Equal(t, "input_text", requireError(t, b, "unprocessable_entity")["field"])
	code, b = k.sdk(t, "GET", "/v1/threads/"+tid+"/stream", url.Values{"last_entry_id": {"soon"}}, "")
	require.Equal(t, http.StatusBadRequest, code)
	requireError(t, b, "bad_request")
	code, _ = k.sdk(t, "GET", "/v1/threads/"+uuid.NewString()+"/stream", nil, "")
	require.Equal(t, http.StatusNotFound, code)
}

// Cairn's own lists reject unknown query parameters and filter by role
// and name.
func TestV1ListQueryChecksAndFilters(t *testing.T) {
	t.Parallel()
	k := newKSServer(t)
	v1 := func(method, target, body string) (int, map[string]any) {
		req := httptest.NewRequest(method, target, bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+k.key)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		k.h.ServeHTTP(rec, req)
		var out map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out), rec.Body.String())
		return rec.Code, out
	}
	for _, target := range []string{"/v1/threads?limit=2&titel=x&zz=1", "/v1/documents?page=2", "/v1/threads/" + uuid.NewString() + "/messages?rol=USER"} {
		code, p := v1("GET", target, "")
		require.Equal(t, http.StatusBadRequest, code, target)
		require.Equal(t, "unknown_parameter", p["code"], target)
		require.Equal(t, "bad_request", p["class"], target)
	}
	code, p := v1("GET", "/v1/threads?limit=2&titel=x&zz=1", "")
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, "titel", p["field"])
	require.Contains(t, p["detail"], `"titel", "zz"`)

	_, th := v1("POST", "/v1/threads", `{"name":"Support Café"}`)
	v1("POST", "/v1/threads", `{"name":"sales"}`)
	code, page := v1("GET", "/v1/threads?name_like=café", "")
	require.Equal(t, http.StatusOK, code)
	require.Len(t, page["data"], 1)
	code, page = v1("GET", "/v1/threads?name_like=%25", "")
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, page["data"], "LIKE wildcards match themselves")

	tid := th["id"].(string)
	v1("POST", "/v1/threads/"+tid+"/messages", `{"role":"USER","content":{"text":"q"}}`)
	v1("POST", "/v1/threads/"+tid+"/messages", `{"role":"ASSISTANT","content":{"text":"a"}}`)
	code, page = v1("GET", "/v1/threads/"+tid+"/messages?role=assistant", "")
	require.Equal(t, http.StatusOK, code)
	require.Len(t, page["data"], 1)
	require.Equal(t, "ASSISTANT", page["data"].([]any)[0].(map[string]any)["role"])
	code, _ = v1("GET", "/v1/threads/"+tid+"/messages?role=robot", "")
	require.Equal(t, http.StatusBadRequest, code)
}

// References name each kind of entity as Knowledge Stack does (a
// document, version or message by its own id, a folder by its path part
// id, a chunk by its id) and read back with the same entity ids.
func TestKSReferencesRoundTripEntityIDs(t *testing.T) {
	t.Parallel()
	k := newKSServer(t)
	ctx := context.Background()
	res, err := k.ingest.Upload(ctx, k.tenant, ingest.UploadInput{Folder: "/kb/geo", Name: "paris.txt", Data: []byte(parisV1), MimeType: "text/plain"})
	require.NoError(t, err)
	_, err = k.ingest.WaitJob(ctx, k.tenant, res.Job.ID)
	require.NoError(t, err)
	var folder, chunk uuid.UUID
	require.NoError(t, k.pool.QueryRow(ctx, `SELECT id FROM path_parts WHERE tenant_id = $1 AND path = '/kb/geo'`, k.tenant).Scan(&folder))
	require.NoError(t, k.pool.QueryRow(ctx, `SELECT id FROM chunks WHERE tenant_id = $1 AND version_id = $2 LIMIT 1`, k.tenant, res.Version.ID).Scan(&chunk))
	tid := k.sdkJSON(t, http.StatusCreated, "POST", "/v1/threads", nil, `{"title":"refs"}`)["id"].(string)
	first := k.sdkJSON(t, http.StatusCreated, "POST", "/v1/threads/"+tid+"/messages", nil, `{"role":"USER","content":{"text":"first"}}`)["id"].(string)

	want := []struct{ refType, id, name string }{
		{"FOLDER", folder.String(), "geo"},
		{"DOCUMENT", res.Document.ID.String(), "paris.txt"},
		{"DOCUMENT_VERSION", res.Version.ID.String(), "v1"},
		{"CHUNK", chunk.String(), ""},
		{"THREAD", tid, "refs"},
		{"THREAD_MESSAGE", first, "0000000001"},
	}
	var refs []string
	for _, w := range want {
		refs = append(refs, `{"ref_type":"`+w.refType+`","entity_id":"`+w.id+`","display_name":"x","materialized_path":null}`)
	}
	m := k.sdkJSON(t, http.StatusCreated, "POST", "/v1/threads/"+tid+"/messages", nil,
		`{"role":"ASSISTANT","content":{"text":"see these","references":[`+strings.Join(refs, ",")+`]}}`)
	for _, got := range []map[string]any{m, k.sdkJSON(t, http.StatusOK, "GET", "/v1/threads/"+tid+"/messages/"+m["id"].(string), nil, "")} {
		rs := got["content"].(map[string]any)["references"].([]any)
		require.Len(t, rs, len(want))
		for i, w := range want {
			r := rs[i].(map[string]any)
			requireFields(t, "ResolvedReferenceOutput", r, referenceResponse)
			require.Equal(t, w.refType, r["ref_type"])
			require.Equal(t, w.id, r["entity_id"], w.refType)
			require.NotNil(t, r["materialized_path"], w.refType)
			if w.name != "" {
				require.Equal(t, w.name, r["display_name"], w.refType)
			}
		}
	}
	code, b := k.sdk(t, "POST", "/v1/threads/"+tid+"/messages", nil, `{"role":"USER","content":{"text":"x","references":[{"ref_type":"DOCUMENT","entity_id":"`+tid+`","display_name":"x"}]}}`)
	require.Equal(t, http.StatusUnprocessableEntity, code, "a thread is not a document")
	requireError(t, b, "unprocessable_entity")
}

// A parent link set through /ks survives a metadata update through /v1.
func TestKSParentLinkSurvivesV1MetadataUpdate(t *testing.T) {
	t.Parallel()
	k := newKSServer(t)
	parent := k.sdkJSON(t, http.StatusCreated, "POST", "/v1/threads", nil, `{"title":"parent"}`)["id"].(string)
	child := k.sdkJSON(t, http.StatusCreated, "POST", "/v1/threads", nil, `{"title":"child"}`)["id"].(string)
	k.sdkJSON(t, http.StatusOK, "PATCH", "/v1/threads/"+child, nil, `{"parent_thread_id":"`+parent+`"}`)
	req := httptest.NewRequest("PATCH", "/v1/threads/"+child, strings.NewReader(`{"metadata":{"team":"support"}}`))
	req.Header.Set("Authorization", "Bearer "+k.key)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	k.h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	got := k.sdkJSON(t, http.StatusOK, "GET", "/v1/threads/"+child, nil, "")
	require.Equal(t, parent, got["parent_thread_id"])
	code, b := k.sdk(t, "PATCH", "/v1/threads/"+child, nil, `{"parent_thread_id":"`+child+`"}`)
	require.Equal(t, http.StatusUnprocessableEntity, code)
	requireError(t, b, "unprocessable_entity")
}
