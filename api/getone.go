package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// getOne is the handler of a GET route that reads one resource of the
// caller's tenant by the uuid path parameter param: 200 with get's result,
// 400 invalid_id for a malformed id, or the problem for get's error.
func getOne[T any](s *Server, param string, get func(ctx context.Context, tenant, id uuid.UUID) (T, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, err := pathUUID(c, param)
		if err != nil {
			s.fail(c, err)
			return
		}
		v, err := get(c.Request.Context(), tenantID(c), id)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, v)
	}
}
