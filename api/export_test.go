package api

// ValidateAgainstSpec exposes validateAgainstSpec to the api_test
// package, so its handler tests check their exchanges against
// api/openapi.yaml too.
var ValidateAgainstSpec = validateAgainstSpec
