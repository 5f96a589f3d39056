// Local OAuth 2.0 / OpenID Connect authorization server for integration tests,
// built on oidc-provider (https://github.com/panva/node-oidc-provider).
//
// Listens on http://127.0.0.1:<ephemeral port> and, once listening, prints
// exactly one JSON line on stdout:
//   {"issuer":"http://127.0.0.1:PORT","token_endpoint":"...","refresh_token":"...","refresh_token_basic":"..."}
// Everything else goes to stderr. Exits when stdin closes, on SIGTERM or SIGINT.
//
// Set ROTATE_REFRESH_TOKENS=1 to make every refresh grant rotate the refresh
// token (the old one is then single-use, and reusing it revokes the grant).
//
// Test-only extra route, outside oidc-provider: POST /test/device/approve and
// POST /test/device/deny with form field user_code stand in for the end-user
// of the device flow (204 on success, 404 for an unknown user_code).

import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';

// stdout carries only the JSON line: send any library logging to stderr.
console.log = console.info = console.debug = console.error;

const { default: Provider } = await import('oidc-provider');

const ACCOUNT_ID = 'test-user';
const SCOPES = ['openid', 'offline_access', 'read', 'write'];
const GRANT_TYPES = [
  'client_credentials',
  'refresh_token',
  'urn:ietf:params:oauth:grant-type:device_code',
];

// Public half of tests/oauth_server/jwt-client.key.pem (RSA 2048, PKCS#8).
const JWT_CLIENT_PUBLIC_JWK = {
  kty: 'RSA',
  kid: 'jwt-client-key-1',
  use: 'sig',
  e: 'AQAB',
  n: 'sdMdA3sqho8bi7ks-q-bTJ59QK90NR_WuTJe1RqC2IASlWMkhLBsAtnzhs6e5t2HmfHXRMuGpFDztpcbaBlbNcaISjdCGMT5DmMCRwOZADLh6_FnGX5w_Z-kNmjW9ilw92rUR5E5lVmOFJIM2Fvxt8XYlBtFUcS1EgbD7w31nBhdRohBBFFoNwxohAgzEeGT_TkMfOSAiWak3bdc6BNB595w50-GiLU7Afwoo8W3Ejhcy1X_QhLfIdVX5x9WkxA9J4-FDc5aGqDudvXRJ5iyx4sv6tww5RuNvCzCVy4Ye0NEkePaDe2j467ZlOP3T9Vcg7zpvf6Sd8jvOfD8VTlpvQ',
};

const client = (extra) => ({
  grant_types: GRANT_TYPES,
  response_types: [], // no browser flows, hence no redirect_uris
  scope: 'read write', // what the client may request at the token endpoint
  ...extra,
});

const clients = [
  client({
    client_id: 'basic-client',
    // Reserved characters on purpose; the Basic header must carry the
    // form-urlencoded id and secret (RFC 6749 §2.3.1). oidc-provider only
    // accepts VSCHAR (%x20-7E) secrets, so no non-ASCII here.
    client_secret: 'p+ss w:rd/%&=',
    token_endpoint_auth_method: 'client_secret_basic',
  }),
  client({
    client_id: 'post-client',
    client_secret: 'post-secret',
    token_endpoint_auth_method: 'client_secret_post',
  }),
  client({
    client_id: 'jwt-client',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [JWT_CLIENT_PUBLIC_JWK] },
  }),
];

// Ephemeral signing key for ID tokens (refresh responses carry one).
const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ format: 'jwk' });

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients,
  scopes: SCOPES,
  jwks: { keys: [{ ...signingKey, kid: 'server-key-1', use: 'sig', alg: 'RS256' }] },
  cookies: { keys: ['tokenfetch-test-cookie-key'] },
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
  features: {
    clientCredentials: { enabled: true },
    deviceFlow: { enabled: true },
    devInteractions: { enabled: false },
    resourceIndicators: { enabled: false }, // a `resource` parameter is ignored
  },
  // Every subject is a known account.
  findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  rotateRefreshToken: process.env.ROTATE_REFRESH_TOKENS === '1',
  ttl: {
    AccessToken: 600,
    ClientCredentials: 600,
    DeviceCode: 600,
    Grant: 86400,
    IdToken: 600,
    Interaction: 600,
    RefreshToken: 86400,
    Session: 86400,
  },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

// oidc-provider lets a client_secret_basic client send its secret in the body
// and a client_secret_post client send it in a Basic header. Be strict: a
// secret sent any other way than the client's registered method is refused,
// with the same response as a wrong secret.
const CLIENT_AUTH_ROUTES = new Set([
  'token', 'device_authorization', 'introspection', 'revocation', 'pushed_authorization_request',
]);
provider.use(async (ctx, next) => {
  await next();
  const { route, client, params } = ctx.oidc ?? {};
  if (!CLIENT_AUTH_ROUTES.has(route) || !client || ctx.status >= 400) return;
  const inHeader = ctx.get('authorization') !== '';
  const inBody = params?.client_secret !== undefined;
  const method = client.clientAuthMethod;
  if ((method === 'client_secret_basic' && inBody) || (method === 'client_secret_post' && inHeader)) {
    const description = 'client authentication failed';
    ctx.status = 401;
    ctx.body = { error: 'invalid_client', error_description: description };
    if (inHeader) {
      ctx.set('WWW-Authenticate', `Basic realm="${issuer}", error="invalid_client", error_description="${description}"`);
    }
  }
});

// Seed a refresh token for a client, as if an authorization code flow with
// offline_access had already happened.
async function seedRefreshToken(clientId) {
  const scope = SCOPES.join(' ');
  const grant = new provider.Grant({ clientId, accountId: ACCOUNT_ID });
  grant.addOIDCScope(scope);
  const grantId = await grant.save();
  const rt = new provider.RefreshToken({
    client: await provider.Client.find(clientId),
    accountId: ACCOUNT_ID,
    grantId,
    gty: 'authorization_code',
    scope,
    expiresWithSession: false,
  });
  return rt.save();
}

const refreshToken = await seedRefreshToken('post-client');
const refreshTokenBasic = await seedRefreshToken('basic-client');

// Device flow without a browser: the test approves or denies a user_code.
async function decideDevice(action, userCode) {
  // user codes are stored upper-cased without separators ("ABCD-EFGH" -> "ABCDEFGH")
  const code = await provider.DeviceCode.findByUserCode(userCode.toUpperCase().replace(/\W/g, ''));
  if (!code || code.accountId || code.error) return false;
  if (action === 'deny') {
    code.error = 'access_denied';
    code.errorDescription = 'end-user denied the authorization request';
  } else {
    const scope = code.params.scope ?? '';
    const grant = new provider.Grant({ clientId: code.clientId, accountId: ACCOUNT_ID });
    if (scope) grant.addOIDCScope(scope);
    code.grantId = await grant.save();
    code.accountId = ACCOUNT_ID;
    code.authTime = Math.floor(Date.now() / 1000);
    code.scope = scope;
  }
  await code.save();
  return true;
}

const handleOidc = provider.callback();
server.on('request', async (req, res) => {
  const action = /^\/test\/device\/(approve|deny)$/.exec(req.url)?.[1];
  if (!action) return handleOidc(req, res);
  let body = '';
  for await (const chunk of req) body += chunk;
  const userCode = new URLSearchParams(body).get('user_code') ?? '';
  const done = req.method === 'POST' && await decideDevice(action, userCode);
  res.writeHead(done ? 204 : 404).end();
});

process.stdout.write(`${JSON.stringify({
  issuer,
  token_endpoint: `${issuer}/token`,
  refresh_token: refreshToken,
  refresh_token_basic: refreshTokenBasic,
})}\n`);

const stop = () => {
  server.closeAllConnections();
  server.close();
  process.exit(0);
};
process.stdin.on('end', stop).on('close', stop).resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
