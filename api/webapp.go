package api

import (
	"io/fs"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cairn-rag/cairn/web"
)

// appCSP confines the web app to its own origin: its modules and styles,
// and the API it calls (connect-src 'self'); no inline script, no frames.
const appCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// registerWebApp serves the embedded web app (package web): index.html
// at / and its files under /app/. They are public; the app asks for an
// API key and sends it to /v1 itself.
func (s *Server) registerWebApp(e *gin.Engine) {
	static := web.Static()
	index, err := fs.ReadFile(static, "index.html")
	if err != nil {
		panic(err) // embedded at build time
	}
	files := http.StripPrefix("/app/", http.FileServerFS(static))
	headers := func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", appCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
	}
	e.GET("/", func(c *gin.Context) {
		headers(c)
		c.Data(http.StatusOK, "text/html; charset=utf-8", index)
	})
	e.GET("/app/*filepath", func(c *gin.Context) {
		headers(c)
		files.ServeHTTP(c.Writer, c.Request)
	})
}
