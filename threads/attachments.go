package threads

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"mime"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"github.com/cairn-rag/cairn/internal/apperr"
)

// Attachment limits.
const (
	// MaxAttachments bounds the attachments of one message.
	MaxAttachments = 10
	// MaxImageBytesDefault is the size a stored image must fit under (1.5 MB).
	MaxImageBytesDefault = 1_500_000
	// MaxImagePixels bounds the decoded size of an image (decompression bombs).
	MaxImagePixels = 50_000_000
	// JPEGQuality is the quality images are re-encoded at.
	JPEGQuality = 85
)

// Attachment is a stored file as it appears on a message.
type Attachment struct {
	ID       uuid.UUID `json:"id"`
	Type     string    `json:"type"`
	Path     string    `json:"path"`
	Name     string    `json:"name"`
	MimeType string    `json:"mime_type"`
	Width    *int      `json:"width"`
	Height   *int      `json:"height"`
}

// NewAttachment is a file sent with a message.
type NewAttachment struct {
	Name     string
	MimeType string
	Data     []byte
}

// File is an attachment's bytes and type.
type File struct {
	Name     string
	MimeType string
	Data     []byte
}

// ErrAttachmentNotFound is returned for an attachment that does not exist in the thread.
var ErrAttachmentNotFound = apperr.NotFoundf(CodeAttachmentNotFound, "attachment not found")

// DecodeBase64 decodes standard base64 (padding optional), or returns 422
// attachment_invalid naming field.
func DecodeBase64(s, field string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, apperr.Unprocessablef(CodeAttachmentInvalid, field, "%s is not valid base64", field)
	}
	return b, nil
}

var imageDecoders = map[string]func(io.Reader) (image.Image, error){
	"image/jpeg": jpeg.Decode,
	"image/png":  png.Decode,
	"image/gif":  gif.Decode,
	"image/webp": webp.Decode,
}

var imageConfigs = map[string]func(io.Reader) (image.Config, error){
	"image/jpeg": jpeg.DecodeConfig,
	"image/png":  png.DecodeConfig,
	"image/gif":  gif.DecodeConfig,
	"image/webp": webp.DecodeConfig,
}

type preparedAttachment struct {
	name, mimeType string
	width, height  *int
	data           []byte
}

func prepareAttachments(in []NewAttachment, maxImageBytes int) ([]preparedAttachment, error) {
	if len(in) > MaxAttachments {
		return nil, apperr.Unprocessablef(CodeAttachmentInvalid, "attachments", "at most %d attachments per message", MaxAttachments)
	}
	out := make([]preparedAttachment, len(in))
	for i, a := range in {
		field := fmt.Sprintf("attachments[%d]", i)
		name, err := ValidateName(a.Name, field+".name")
		if err != nil {
			return nil, apperr.Unprocessablef(CodeAttachmentInvalid, field+".name", "%s", err.(*apperr.Error).Message)
		}
		mt, _, err := mime.ParseMediaType(a.MimeType)
		if err != nil || !strings.Contains(mt, "/") {
			return nil, apperr.Unprocessablef(CodeAttachmentInvalid, field+".mime_type", "%s.mime_type must be a media type such as image/png", field)
		}
		if len(a.Data) == 0 {
			return nil, apperr.Unprocessablef(CodeAttachmentInvalid, field+".data", "%s.data must not be empty", field)
		}
		p := preparedAttachment{name: name, mimeType: mt, data: a.Data}
		if mt == "image/jpg" {
			mt = "image/jpeg"
		}
		if decode, ok := imageDecoders[mt]; ok {
			data, w, h, err := ToJPEG(a.Data, mt, decode, maxImageBytes)
			if err != nil {
				return nil, apperr.Unprocessablef(CodeAttachmentInvalid, field+".data", "%s.data does not decode as %s: %v", field, mt, err)
			}
			p.data, p.mimeType, p.width, p.height = data, "image/jpeg", &w, &h
		}
		out[i] = p
	}
	return out, nil
}

// ToJPEG decodes an image of media type mt and re-encodes it as JPEG,
// scaling it down until it fits under maxBytes. It returns the JPEG and its
// width and height. decode may be nil (chosen by mt).
func ToJPEG(data []byte, mt string, decode func(io.Reader) (image.Image, error), maxBytes int) ([]byte, int, int, error) {
	if decode == nil {
		if decode = imageDecoders[mt]; decode == nil {
			return nil, 0, 0, fmt.Errorf("unsupported image type %s", mt)
		}
	}
	cfg, err := imageConfigs[mt](bytes.NewReader(data))
	if err != nil {
		return nil, 0, 0, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxImagePixels {
		return nil, 0, 0, fmt.Errorf("image of %dx%d pixels is over the limit of %d pixels", cfg.Width, cfg.Height, MaxImagePixels)
	}
	src, err := decode(bytes.NewReader(data))
	if err != nil {
		return nil, 0, 0, err
	}
	// Flatten transparency onto white: JPEG has no alpha.
	b := src.Bounds()
	img := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(img, img.Bounds(), &image.Uniform{C: color.White}, image.Point{}, draw.Src)
	draw.Draw(img, img.Bounds(), src, b.Min, draw.Over)
	var cur image.Image = img
	for range 12 {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, cur, &jpeg.Options{Quality: JPEGQuality}); err != nil {
			return nil, 0, 0, err
		}
		cb := cur.Bounds()
		if buf.Len() < maxBytes {
			return buf.Bytes(), cb.Dx(), cb.Dy(), nil
		}
		scale := math.Sqrt(float64(maxBytes)/float64(buf.Len())) * 0.9
		w, h := max(1, int(float64(cb.Dx())*scale)), max(1, int(float64(cb.Dy())*scale))
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.ApproxBiLinear.Scale(dst, dst.Bounds(), cur, cb, draw.Src, nil)
		cur = dst
	}
	return nil, 0, 0, fmt.Errorf("image does not fit under %d bytes", maxBytes)
}

// insertAttachments stores the files under the thread's "attachments" folder.
func insertAttachments(ctx context.Context, tx pgx.Tx, tenantID, threadID, messageID, threadPP uuid.UUID, threadPath string, atts []preparedAttachment) error {
	if len(atts) == 0 {
		return nil
	}
	folder := uuid.Must(uuid.NewV7())
	if _, err := tx.Exec(ctx, `
INSERT INTO path_parts (tenant_id, id, parent_id, name, kind, path) VALUES ($1, $2, $3, 'attachments', 'folder', $4)
ON CONFLICT DO NOTHING`, tenantID, folder, threadPP, threadPath+"/attachments"); err != nil {
		return fmt.Errorf("create attachments folder: %w", err)
	}
	if err := tx.QueryRow(ctx, `SELECT id FROM path_parts WHERE tenant_id = $1 AND parent_id = $2 AND name = 'attachments'`,
		tenantID, threadPP).Scan(&folder); err != nil {
		return fmt.Errorf("read attachments folder: %w", err)
	}
	for i, a := range atts {
		id := uuid.Must(uuid.NewV7())
		if _, err := tx.Exec(ctx, `
INSERT INTO path_parts (tenant_id, id, parent_id, name, kind, path) VALUES ($1, $2, $3, $4, 'attachment', $5)`,
			tenantID, id, folder, id.String(), threadPath+"/attachments/"+id.String()); err != nil {
			return fmt.Errorf("insert attachment path part: %w", err)
		}
		if _, err := tx.Exec(ctx, `
INSERT INTO message_attachments (tenant_id, id, thread_id, message_id, path_part_id, ordinal, name, mime_type, width, height, size_bytes, data)
VALUES ($1, $2, $3, $4, $2, $5, $6, $7, $8, $9, $10, $11)`,
			tenantID, id, threadID, messageID, i, a.name, a.mimeType, a.width, a.height, len(a.data), a.data); err != nil {
			return fmt.Errorf("insert attachment: %w", err)
		}
	}
	return nil
}

// GetAttachment returns an attachment's bytes. Errors: attachment_not_found (404).
func (s *Store) GetAttachment(ctx context.Context, tenantID, threadID, attachmentID uuid.UUID) (File, error) {
	var f File
	err := s.pool.QueryRow(ctx, `
SELECT name, mime_type, data FROM message_attachments WHERE tenant_id = $1 AND thread_id = $2 AND id = $3`,
		tenantID, threadID, attachmentID).Scan(&f.Name, &f.MimeType, &f.Data)
	if noRows(err) {
		return File{}, ErrAttachmentNotFound
	}
	if err != nil {
		return File{}, fmt.Errorf("get attachment: %w", err)
	}
	return f, nil
}
