// A minimal OpenID Connect provider for the console's tests (never for production): the
// authorization code flow with PKCE (S256) for one client, "ctg-console", signing RS256 access
// tokens for one person, whose role and organisation are read at each sign-in from DIR/person.json
// ({"role", "organisation"}; written by the harness once the registry is loaded), for the issuer
// and audience CTG_IDP_ISSUER and CTG_IDP_AUDIENCE. /authorize signs the person in
// at once and sends the browser back to the loopback redirect_uri with a one-time code; /token
// exchanges the code for the token when the verifier matches its challenge.
// Usage: node fake_idp.mjs DIR — writes DIR/idp.pem (the public key, for the gateway and the
// services' --jwt-public-keys-file) then DIR/idp.port ("<port> 0"), and serves until killed.
import { createServer } from "node:http";
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { readFileSync, writeFileSync, renameSync } from "node:fs";

const dir = process.argv[2];
const kClient = "ctg-console";
const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
writeFileSync(`${dir}/idp.pem`, publicKey.export({ type: "spki", format: "pem" }));
const base64Url = (buffer) => Buffer.from(buffer).toString("base64url");
const codes = new Map(); // code -> { challenge, redirectUri }

function accessToken() {
  const person = JSON.parse(readFileSync(`${dir}/person.json`, "utf8"));
  const now = Math.floor(Date.now() / 1000);
  const header = base64Url(JSON.stringify({ alg: "RS256", typ: "JWT" }));
  const claims = {
    iss: process.env.CTG_IDP_ISSUER,
    aud: process.env.CTG_IDP_AUDIENCE,
    sub: "idp-person",
    org: person.organisation,
    roles: [person.role],
    iat: now,
    exp: now + 600,
  };
  const payload = base64Url(JSON.stringify(claims));
  const signature = sign("sha256", Buffer.from(`${header}.${payload}`), privateKey);
  return `${header}.${payload}.${base64Url(signature)}`;
}

function reply(res, status, body, headers = {}) {
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers });
  res.end(JSON.stringify(body));
}

const server = createServer((req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  if (url.pathname === "/authorize" && req.method === "GET") {
    const q = url.searchParams;
    const redirect = q.get("redirect_uri") || "";
    if (q.get("client_id") !== kClient || !/^http:\/\/127\.0\.0\.1:\d+\//.test(redirect) ||
        q.get("response_type") !== "code" || q.get("code_challenge_method") !== "S256" ||
        !q.get("code_challenge")) {
      return reply(res, 400, { error: "invalid_request" });
    }
    const code = base64Url(randomBytes(16));
    codes.set(code, { challenge: q.get("code_challenge"), redirectUri: redirect });
    const back = new URL(redirect);
    back.searchParams.set("code", code);
    back.searchParams.set("state", q.get("state") || "");
    res.writeHead(302, { Location: back.href });
    return res.end();
  }
  if (url.pathname === "/token" && req.method === "POST") {
    const cors = { "Access-Control-Allow-Origin": req.headers.origin || "*" };
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      const form = new URLSearchParams(body);
      const pending = codes.get(form.get("code"));
      codes.delete(form.get("code")); // one use
      const verified =
        pending &&
        form.get("grant_type") === "authorization_code" &&
        form.get("client_id") === kClient &&
        form.get("redirect_uri") === pending.redirectUri &&
        base64Url(createHash("sha256").update(form.get("code_verifier") || "").digest()) ===
          pending.challenge;
      if (!verified) return reply(res, 400, { error: "invalid_grant" }, cors);
      reply(res, 200, { access_token: accessToken(), token_type: "Bearer", expires_in: 600 }, cors);
    });
    return;
  }
  reply(res, 404, { error: "not_found" });
});
server.listen(0, "127.0.0.1", () => {
  writeFileSync(`${dir}/idp.port.partial`, `${server.address().port} 0\n`);
  renameSync(`${dir}/idp.port.partial`, `${dir}/idp.port`);
});
