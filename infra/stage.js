// Prints one field of a stage's configuration in cdk.json (node infra/stage.js <stage> <field>),
// or, for an unknown stage, says which stages there are and exits 1. The Makefile uses it to check
// STAGE before building anything, and to read the stage's pinned account, region and portal URL.
const fs = require("fs");
const path = require("path");
const [stage, field] = process.argv.slice(2);
const cdk = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "cdk.json"), "utf8"));
const stages = cdk.context["rollcall:stages"];
if (!stage || !Object.prototype.hasOwnProperty.call(stages, stage)) {
  console.error(`STAGE=${stage || ""} is not a stage of cdk.json; use one of: ${Object.keys(stages).join(", ")} (e.g. make deploy STAGE=dev). See docs/deploy.md.`);
  process.exit(1);
}
if (field) {
  const v = field === "origin" ? new URL(stages[stage].portalUrl).origin : stages[stage][field];
  if (v === undefined || v === "") {
    console.error(`stage ${stage} has no ${field} in cdk.json; see docs/deploy.md`);
    process.exit(1);
  }
  console.log(v);
}
