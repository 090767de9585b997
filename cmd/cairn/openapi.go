package main

import (
	"context"

	"github.com/cairn-rag/cairn/api"
)

func init() {
	commands["openapi"] = command{
		summary: "print the OpenAPI document the server serves at /openapi.json",
		run:     runOpenAPI,
	}
}

func runOpenAPI(_ context.Context, env *environment, args []string) error {
	if len(args) > 0 {
		return usageError{"openapi takes no arguments"}
	}
	doc, err := api.OpenAPIJSON()
	if err != nil {
		return err
	}
	env.println(string(doc))
	return nil
}
