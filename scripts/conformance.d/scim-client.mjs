// An HR system driving Steward over SCIM 2.0, with SCIMMY (npm) building and
// checking every message: discovery, provisioning, filtering (SCIMMY's own
// filter evaluation is the reference), a displayName change, then
// deprovisioning, whose effect (owner departed, owned identity suspended) is
// read back through Steward's API.
// Usage: node scim-client.mjs BASE_URL SCIM_TOKEN ADMIN_TOKEN
import SCIMMY from "scimmy";

const [base, scimToken, adminToken] = process.argv.slice(2);
const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };

async function scim(method, path, body) {
  const res = await fetch(base + "/scim/v2" + path, {
    method,
    headers: { Authorization: "Bearer " + scimToken, "Content-Type": "application/scim+json", Accept: "application/scim+json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const doc = text ? JSON.parse(text) : undefined;
  if (res.status >= 400) {
    // Errors must be RFC 7644 §3.12 errors: SCIMMY's ErrorResponse checks
    // the status code and that the scimType is one allowed with it.
    check(Array.isArray(doc.schemas) && doc.schemas.includes("urn:ietf:params:scim:api:messages:2.0:Error"), `${method} ${path}: error schemas`);
    try {
      new SCIMMY.Messages.ErrorResponse({ status: doc.status, scimType: doc.scimType, detail: doc.detail });
    } catch (e) {
      check(false, `${method} ${path}: ${e.message}`);
    }
    check(doc.status === String(res.status), `${method} ${path}: error status ${JSON.stringify(doc.status)} for ${res.status}`);
  }
  check((res.headers.get("content-type") || "").startsWith("application/scim+json") || res.status === 204, `${method} ${path}: content type ${res.headers.get("content-type")}`);
  return { status: res.status, doc, location: res.headers.get("location") };
}

async function api(method, path, body) {
  const res = await fetch(base + path, {
    method, headers: { Authorization: "Bearer " + adminToken, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, doc: await res.json() };
}

// Discovery: every document coerces into SCIMMY's schema of it.
const spc = await scim("GET", "/ServiceProviderConfig");
check(spc.status === 200 && spc.doc.patch.supported && spc.doc.filter.supported, "ServiceProviderConfig");
const rts = await scim("GET", "/ResourceTypes");
const lrt = new SCIMMY.Messages.ListResponse(rts.doc);
check(lrt.Resources.some(r => r.id === "User" && r.endpoint === "/Users"), "ResourceTypes lists User");
new SCIMMY.Schemas.ResourceType(lrt.Resources[0]);
const schemas = await scim("GET", "/Schemas");
check(new SCIMMY.Messages.ListResponse(schemas.doc).Resources.some(s => s.id === SCIMMY.Schemas.User.definition.id), "Schemas lists the core User");

// Provision: a user built and checked by SCIMMY's User schema.
const stamp = Date.now();
const userName = `dana.${stamp}@example.com`;
const outbound = new SCIMMY.Schemas.User({ userName, name: { givenName: "Dana", familyName: "Reyes" }, externalId: `hr-${stamp}`, active: true }, "in");
const created = await scim("POST", "/Users", { ...JSON.parse(JSON.stringify(outbound)), schemas: [SCIMMY.Schemas.User.definition.id] });
check(created.status === 201, `POST /Users: ${created.status} ${JSON.stringify(created.doc)}`);
const user = new SCIMMY.Schemas.User(created.doc, "out");
check(user.userName === userName && user.displayName === "Dana Reyes" && created.doc.active === true, "created user as sent");
check(/^https?:\/\//.test(created.doc.meta.location) && created.location === created.doc.meta.location, "absolute meta.location and Location header");
const id = created.doc.id;

// An identity this person owns.
const ident = await api("POST", "/api/v1/identities", { name: `dana-bot-${stamp}`, kind: "bot", owner_id: id });
check(ident.status === 201, `identity: ${ident.status} ${JSON.stringify(ident.doc)}`);

// Filters: the server's answer equals SCIMMY's evaluation over the full list.
const all = new SCIMMY.Messages.ListResponse((await scim("GET", "/Users?count=1000")).doc);
check(all.totalResults === all.Resources.length && all.totalResults >= 1, `GET /Users without filter: totalResults ${all.totalResults}`);
for (const f of [
  `userName eq "${userName}"`,
  `userName sw "dana." and active eq true`,
  `userName eq "${userName}" or displayName eq "nobody"`,
  `not (userName eq "${userName}")`,
  `emails[value co "${stamp}"]`,
  `externalId pr`,
]) {
  const got = new SCIMMY.Messages.ListResponse((await scim("GET", "/Users?filter=" + encodeURIComponent(f))).doc);
  const want = new SCIMMY.Types.Filter(f).match(all.Resources);
  const ids = l => l.map(r => r.id).sort().join(",");
  check(ids(got.Resources) === ids(want) && got.totalResults === want.length, `filter ${f}: got [${ids(got.Resources)}], SCIMMY [${ids(want)}]`);
}

// userName is caseExact false (RFC 7643 §4.1.1), attribute names and
// operators are case-insensitive: SCIMMY's matcher compares values exactly,
// so this one is checked on its own.
const folded = await scim("GET", "/Users?filter=" + encodeURIComponent(`USERNAME Eq "${userName.toUpperCase()}"`));
check(folded.doc.totalResults === 1 && folded.doc.Resources[0].id === id, "a case-folded userName filter finds the user");

// A rename, as a PatchOp built by SCIMMY.
const rename = new SCIMMY.Messages.PatchOp({ schemas: [SCIMMY.Messages.PatchOp.id], Operations: [{ op: "replace", path: "displayName", value: "Dana R." }] });
const renamed = await scim("PATCH", `/Users/${id}`, rename);
check(renamed.status === 200 && renamed.doc.displayName === "Dana R.", `PATCH displayName: ${JSON.stringify(renamed.doc)}`);

// Deprovisioning: active false.
const off = new SCIMMY.Messages.PatchOp({ schemas: [SCIMMY.Messages.PatchOp.id], Operations: [{ op: "replace", value: { active: false } }] });
const gone = await scim("PATCH", `/Users/${id}`, off);
check(gone.status === 200 && gone.doc.active === false, `deprovision: ${JSON.stringify(gone.doc)}`);
const owner = await api("GET", `/api/v1/owners/${id}`);
check(owner.doc.status === "departed", `owner status after deprovisioning: ${owner.doc.status}`);
const findings = await api("GET", `/api/v1/findings?identity_id=${ident.doc.id}&check=owner.departed`);
check(findings.status === 200 && findings.doc.items.length === 1 && findings.doc.items[0].status === "open",
  `owned identity after deprovisioning has no open owner.departed finding: ${JSON.stringify(findings.doc)}`);
const filtered = await scim("GET", "/Users?filter=" + encodeURIComponent(`userName eq "${userName}" and active eq false`));
check(filtered.doc.totalResults === 1, "the departed user is found inactive");

// Errors a client must be able to read.
const missing = await scim("GET", "/Users/nobody-here");
check(missing.status === 404, `unknown user: ${missing.status}`);
const bad = await scim("GET", "/Users?filter=" + encodeURIComponent("userName zz 1"));
check(bad.status === 400 && bad.doc.scimType === "invalidFilter", `bad filter: ${JSON.stringify(bad.doc)}`);

if (failures.length) {
  for (const f of failures) console.error("scim: " + f);
  process.exit(1);
}
console.log(`user ${id} provisioned, renamed and deprovisioned (owner departed, owned identity flagged owner.departed); 6 filters agree with SCIMMY's evaluation`);
