// Generates Python bindings from a (filtered) Terraform provider schema, the way `cdktf get`
// does, but for a schema we give it and under the Python module name we choose.
//
//   node generate.js SCHEMA.json CONSTRAINT PYTHON_MODULE OUTDIR
//   e.g. node generate.js used.json aws@5.100.0 cdktf_cdktf_provider_aws .gen/staging
//
// SCHEMA.json is `terraform providers schema -json` output (possibly reduced to some types).
// CONSTRAINT is written into the bindings as the provider's source and version: `aws@5.100.0`
// gives `"aws": {"source": "aws", "version": "5.100.0"}`, as the prebuilt package writes.
// Run by scripts/generate-bindings, which installs this folder's pinned packages (npm ci)
// and does the post-processing of the Python package.
"use strict";

const fs = require("fs");
const path = require("path");
const {
  CodeMaker,
  TerraformProviderGenerator,
  TerraformProviderConstraint,
  generateJsiiLanguage,
} = require("@cdktf/provider-generator");
const { ConstructsMakerTarget, Language } = require("@cdktf/commons");
// What `cdktf get` applies to every schema it reads (de-doubles some attribute types).
const { sanitizeProviderSchema } = require("@cdktf/provider-schema/src/provider-schema");

async function main() {
  const [schemaPath, constraintText, pythonModule, outdir] = process.argv.slice(2);
  if (!outdir) {
    throw new Error("usage: generate.js SCHEMA.json CONSTRAINT PYTHON_MODULE OUTDIR");
  }
  const schema = sanitizeProviderSchema(JSON.parse(fs.readFileSync(schemaPath, "utf8")));
  const constraint = new TerraformProviderConstraint(constraintText);
  const target = ConstructsMakerTarget.from(constraint, Language.PYTHON);

  // TypeScript from the schema (what ConstructsMaker.generateTypescriptProvider does).
  const code = new CodeMaker();
  const generator = new TerraformProviderGenerator(code, schema);
  generator.generate(constraint);

  // TypeScript -> jsii assembly -> Python (what ConstructsMaker.generateJsiiLanguage does),
  // with our own Python module name instead of the constraint's.
  const deps = ["@types/node", "constructs", "cdktf"].map((dep) =>
    path.dirname(require.resolve(`${dep}/package.json`)),
  );
  await generateJsiiLanguage(
    code,
    {
      entrypoint: target.fileName,
      deps,
      moduleKey: target.moduleKey,
      exports: {
        ".": {
          import: `./providers/${target.name}/index.js`,
          require: `./providers/${target.name}/lazy-index.js`,
        },
      },
      python: { outdir: path.resolve(outdir), moduleName: pythonModule },
    },
    path.resolve(outdir),
    ["modules/**"],
  );
  fs.writeFileSync(
    path.join(outdir, "versions.json"),
    JSON.stringify(generator.versions, null, 2) + "\n",
  );
}

main().catch((error) => {
  console.error(`generate.js: ${error && error.stack ? error.stack : error}`);
  process.exit(1);
});
