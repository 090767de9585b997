package api

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-rag/cairn/ingest"
	"github.com/cairn-rag/cairn/internal/apperr"
)

// registerDocumentRoutes registers the document, chunk and ingest job
// routes: uploads on upload (MaxUploadBytes), the rest on json.
func (s *Server) registerDocumentRoutes(upload, json *gin.RouterGroup) {
	upload.POST("/documents", s.createDocument)
	json.GET("/documents", s.listDocuments)
	json.GET("/documents/:document_id", getOne(s, "document_id", s.deps.Ingest.Get))
	json.GET("/documents/:document_id/versions", s.listVersions)
	json.DELETE("/documents/:document_id", s.deleteDocument)
	json.GET("/chunks/:chunk_id", getOne(s, "chunk_id", s.deps.Ingest.GetChunk))
	json.GET("/ingest/jobs/:job_id", getOne(s, "job_id", s.deps.Ingest.GetJob))
	s.registerVersionRoutes(json)
}

// documentJSON is the JSON body of POST /v1/documents.
type documentJSON struct {
	Name          string  `json:"name"`
	Folder        string  `json:"folder"`
	Text          *string `json:"text"`
	ContentBase64 *string `json:"content_base64"`
	MimeType      string  `json:"mime_type"`
}

func (s *Server) createDocument(c *gin.Context) {
	in, err := s.readUpload(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	res, err := s.deps.Ingest.Upload(ctx, tenantID(c), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	if res.Unchanged {
		c.JSON(http.StatusOK, res)
		return
	}
	if c.Query("wait") != "true" || res.Job == nil {
		c.JSON(http.StatusAccepted, res)
		return
	}
	wctx, cancel := context.WithTimeout(ctx, max(s.deps.Config.RequestTimeout-time.Second, time.Second))
	defer cancel()
	job, err := s.deps.Ingest.WaitJob(wctx, tenantID(c), res.Job.ID)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			// Still indexing: answer the job as it is now (running, its
			// attempt and counts), not as it was when it was queued.
			if now, err := s.deps.Ingest.GetJob(ctx, tenantID(c), res.Job.ID); err == nil {
				res.Job = &now
			} else if job.ID == res.Job.ID {
				res.Job = &job
			}
			c.JSON(http.StatusAccepted, res)
			return
		}
		s.fail(c, err)
		return
	}
	if job.State == ingest.JobFailed {
		msg := "ingestion failed"
		if job.Error != nil {
			msg = *job.Error
		}
		s.fail(c, apperr.Unprocessablef(CodeIngestFailed, "", "job %s failed: %s", job.ID, msg))
		return
	}
	if res.Document, err = s.deps.Ingest.Get(ctx, tenantID(c), res.Document.ID); err != nil {
		s.fail(c, err)
		return
	}
	vs, err := s.deps.Ingest.Versions(ctx, tenantID(c), res.Document.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	for _, v := range vs {
		if v.ID == res.Version.ID {
			res.Version = v
		}
	}
	res.Job = &job
	c.JSON(http.StatusCreated, res)
}

// readUpload reads a multipart (file, folder, name) or JSON upload.
func (s *Server) readUpload(c *gin.Context) (ingest.UploadInput, error) {
	ct, params, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if ct == "multipart/form-data" {
		return readMultipart(c, params["boundary"])
	}
	var body documentJSON
	if err := decodeJSON(c, &body); err != nil {
		return ingest.UploadInput{}, err
	}
	in := ingest.UploadInput{Name: body.Name, Folder: body.Folder, MimeType: body.MimeType}
	switch {
	case body.Text != nil && body.ContentBase64 != nil:
		return in, apperr.Unprocessablef(apperr.CodeValidationFailed, "text", "give either text or content_base64, not both")
	case body.Text != nil:
		in.Data = []byte(*body.Text)
		if in.MimeType == "" {
			in.MimeType = ingest.MimeText
		}
	case body.ContentBase64 != nil:
		b, err := base64.StdEncoding.DecodeString(*body.ContentBase64)
		if err != nil {
			return in, apperr.Invalidf(CodeInvalidField, "content_base64", "content_base64 is not valid base64")
		}
		in.Data = b
	default:
		return in, apperr.Unprocessablef(apperr.CodeValidationFailed, "text", "text or content_base64 is required")
	}
	return in, nil
}

func readMultipart(c *gin.Context, boundary string) (ingest.UploadInput, error) {
	var in ingest.UploadInput
	if boundary == "" {
		return in, apperr.Invalidf(CodeInvalidMultipart, "", "multipart body without boundary")
	}
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return in, apperr.Invalidf(CodeInvalidMultipart, "", "invalid multipart body: %v", err)
	}
	gotFile := false
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return in, multipartErr(err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return in, multipartErr(err)
		}
		if p.FormName() != "file" {
			if err := checkString(p.FormName(), string(b)); err != nil {
				return in, err
			}
		} else if err := checkString("file", p.FileName()); err != nil {
			return in, err
		}
		switch p.FormName() {
		case "file":
			gotFile = true
			in.Data = b
			in.MimeType = p.Header.Get("Content-Type")
			if in.MimeType == "application/octet-stream" {
				in.MimeType = ""
			}
			if in.Name == "" {
				in.Name = p.FileName()
			}
		case "name":
			if n := strings.TrimSpace(string(b)); n != "" {
				in.Name = n
			}
		case "folder":
			in.Folder = string(b)
		default:
			return in, apperr.Invalidf(CodeUnknownField, p.FormName(), "unknown form field %q", p.FormName())
		}
	}
	if !gotFile {
		return in, apperr.Unprocessablef(apperr.CodeValidationFailed, "file", "file is required")
	}
	return in, nil
}

func multipartErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(mbe.Limit)
	}
	return apperr.Invalidf(CodeInvalidMultipart, "", "invalid multipart body: %v", err)
}

func (s *Server) listDocuments(c *gin.Context) {
	if err := AllowQuery(c, "limit", "offset", "folder"); err != nil {
		s.fail(c, err)
		return
	}
	limit, err := queryInt(c, "limit", 50, 1, 500)
	if err != nil {
		s.fail(c, err)
		return
	}
	offset, err := queryInt(c, "offset", 0, 0, 1_000_000)
	if err != nil {
		s.fail(c, err)
		return
	}
	docs, more, err := s.deps.Ingest.List(c.Request.Context(), tenantID(c), c.Query("folder"), limit, offset)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"data": docs, "has_more": more})
}

func (s *Server) listVersions(c *gin.Context) {
	id, err := pathUUID(c, "document_id")
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := AllowQuery(c); err != nil {
		s.fail(c, err)
		return
	}
	vs, err := s.deps.Ingest.Versions(c.Request.Context(), tenantID(c), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"data": vs, "has_more": false})
}

func (s *Server) deleteDocument(c *gin.Context) {
	id, err := pathUUID(c, "document_id")
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.deps.Ingest.Delete(c.Request.Context(), tenantID(c), id); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
