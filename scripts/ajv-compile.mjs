// Compiles every schema of an OpenAPI 3.0 document (components and the
// inline request/response schemas of every operation) with Ajv 8 in
// strict mode, as JavaScript OpenAPI tooling does. Exits 1 on the first
// schema Ajv refuses (e.g. `nullable` without `type`).
// usage: node scripts/ajv-compile.mjs openapi.json
import { readFileSync } from "node:fs";
import Ajv from "ajv";
import addFormats from "ajv-formats";

const doc = JSON.parse(readFileSync(process.argv[2], "utf8"));
const ajv = new Ajv({ strict: true, allErrors: true });
addFormats(ajv);
ajv.addFormat("binary", true); // OpenAPI's format for raw bytes
// OpenAPI keywords beside JSON Schema's: Cairn's vendor extension on
// Problem.code, and the ones OpenAPI 3.0 defines that Ajv does not.
ajv.addKeyword({ keyword: "x-classes", metaSchema: { type: "object", additionalProperties: { type: "array", items: { type: "string" } } } });
for (const k of ["example", "xml", "externalDocs", "deprecated", "readOnly", "writeOnly", "discriminator"]) {
  if (!ajv.RULES.keywords[k]) ajv.addKeyword(k);
}

// Refs point at #/components/schemas/X: register the schemas as
// definitions of one root schema and point the refs there.
const rewrite = (v) => {
  if (Array.isArray(v)) return v.map(rewrite);
  if (v && typeof v === "object") {
    const o = {};
    for (const [k, x] of Object.entries(v)) {
      o[k] = k === "$ref" && typeof x === "string" ? x.replace("#/components/schemas/", "cairn#/definitions/") : rewrite(x);
    }
    return o;
  }
  return v;
};
const schemas = rewrite(doc.components?.schemas ?? {});
ajv.addSchema({ $id: "cairn", definitions: schemas });

let compiled = 0;
const compile = (where, schema) => {
  try {
    ajv.compile(schema);
    compiled++;
  } catch (e) {
    console.error(`ajv: ${where}: ${e.message}`);
    process.exit(1);
  }
};
for (const name of Object.keys(schemas)) compile(`components.schemas.${name}`, { $ref: `cairn#/definitions/${name}` });
for (const [path, item] of Object.entries(doc.paths ?? {})) {
  for (const [method, op] of Object.entries(item)) {
    if (typeof op !== "object" || op === null || !op.responses) continue;
    const bodies = [["requestBody", op.requestBody], ...Object.entries(op.responses)];
    for (const [what, b] of bodies) {
      for (const [ct, media] of Object.entries(b?.content ?? {})) {
        if (media.schema) compile(`${method.toUpperCase()} ${path} ${what} ${ct}`, rewrite(media.schema));
      }
    }
    for (const p of [...(item.parameters ?? []), ...(op.parameters ?? [])]) {
      if (p.schema) compile(`${method.toUpperCase()} ${path} parameter ${p.name}`, rewrite(p.schema));
    }
  }
}
console.log(`ajv: ${compiled} schemas compiled in strict mode, 0 errors`);
