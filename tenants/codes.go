package tenants

import "github.com/cairn-rag/cairn/internal/apperr"

// The public error codes of tenants and API keys.
const (
	// CodeUnauthorized is a missing, unknown or revoked API key.
	CodeUnauthorized apperr.Code = "unauthorized"
	// CodeInvalidName is a tenant name that is empty or too long.
	CodeInvalidName apperr.Code = "invalid_name"
	// CodeTenantNotFound is a tenant id that names no tenant.
	CodeTenantNotFound apperr.Code = "tenant_not_found"
	// CodeKeyNotFound is a key id that names no active key.
	CodeKeyNotFound apperr.Code = "key_not_found"
)
