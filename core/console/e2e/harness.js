// Starts the real `omnigate` binary for the console's end-to-end tests, as
// core/server/tests/it/harness.rs does: a temp data dir, an ephemeral port,
// JSON logs to learn the address, the first admin through the CLI with the
// password on stdin. Talks to the API as an integrator would.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import https from 'node:https';
import http from 'node:http';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, '../../..');
export const ADMIN = { email: 'admin@example.com', password: 'correct horse battery staple' };

/** The debug binary cargo built (OMNIGATE_BIN or CARGO_TARGET_DIR override). */
export function binary() {
  if (process.env.OMNIGATE_BIN) return process.env.OMNIGATE_BIN;
  const target = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(REPO, 'target');
  const path = join(target, 'debug', 'omnigate');
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`cargo build -p omnigate\` first`);
  return path;
}

function cleanEnv(dataDir) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('OMNIGATE_')) env[key] = value;
  return {
    ...env,
    OMNIGATE_STORAGE__DATA_DIR: dataDir,
    OMNIGATE_SERVER__LISTEN: '127.0.0.1:0',
    OMNIGATE_LOGGING__FORMAT: 'json',
  };
}

async function createAdmin(dataDir) {
  const child = spawn(binary(), ['admin', 'create-user', '--email', ADMIN.email, '--name', 'First Admin', '--role', 'admin'],
    { env: cleanEnv(dataDir), stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  child.stdin.end(`${ADMIN.password}\n`);
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`create-user failed: ${stderr}`);
}

/** Starts `omnigate serve` and waits for its "listening" log line;
 * `env` adds settings (e.g. `OMNIGATE_PLUGINS__DIR`). */
async function launch(dataDir, listen, env = {}) {
  const child = spawn(binary(), ['serve'], { env: { ...cleanEnv(dataDir), ...env, OMNIGATE_SERVER__LISTEN: listen }, stdio: ['ignore', 'ignore', 'pipe'] });
  const log = [];
  const lines = createInterface({ input: child.stderr });
  const addr = await new Promise((resolveAddr, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log.join('\n')}`)), 30000);
    lines.on('line', (line) => {
      log.push(line);
      try {
        const event = JSON.parse(line);
        if (event.message === 'listening') { clearTimeout(timer); resolveAddr(event.addr); }
      } catch { /* not JSON */ }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}):\n${log.join('\n')}`)); });
  });
  return { child, addr, log };
}

/** A running server on a fresh data dir with a first admin; `env` adds
 * settings as `OMNIGATE_*` variables. */
export class Server {
  static async start({ env = {} } = {}) {
    const dataDir = mkdtempSync(join(tmpdir(), 'omnigate-e2e-'));
    await createAdmin(dataDir);
    const { child, addr, log } = await launch(dataDir, '127.0.0.1:0', env);
    const server = new Server(child, dataDir, addr, log);
    server.env = env;
    server.token = await server.adminToken();
    return server;
  }

  /** Stops the server (SIGTERM) and starts a new one on the same data dir
   * and port: a new live event stream, sessions and data kept.
   * `whileStopped` runs in between (to change files under the data dir). */
  async restart({ whileStopped } = {}) {
    this.child.kill('SIGTERM');
    await once(this.child, 'exit');
    if (whileStopped) await whileStopped();
    const { child, log } = await launch(this.dataDir, `127.0.0.1:${this.port}`, this.env);
    this.child = child;
    this.log.push(...log);
  }

  constructor(child, dataDir, addr, log) {
    Object.assign(this, { child, dataDir, addr, log });
    this.port = Number(addr.split(':').pop());
    this.base = `https://127.0.0.1:${this.port}`;
  }

  async stop() {
    if (this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      await once(this.child, 'exit');
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** A raw HTTPS request (the certificate is the server's self-signed one). */
  request(method, path, { body, headers = {}, raw } = {}) {
    const payload = raw ?? (body === undefined ? undefined : Buffer.from(JSON.stringify(body)));
    const allHeaders = { ...headers };
    if (body !== undefined && !raw) allHeaders['content-type'] = 'application/json';
    if (payload) allHeaders['content-length'] = String(payload.length);
    return new Promise((resolveRes, reject) => {
      const req = https.request(`${this.base}${path}`, { method, headers: allHeaders, rejectUnauthorized: false }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json = null;
          try { json = text ? JSON.parse(text) : null; } catch { json = null; }
          resolveRes({ status: res.statusCode, headers: res.headers, text, json });
        });
      });
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  async adminToken() {
    const login = await this.request('POST', '/api/v1/auth/login', { body: ADMIN });
    if (login.status !== 200) throw new Error(`admin login: ${login.text}`);
    const cookie = login.headers['set-cookie'][0].split(';')[0];
    const made = await this.request('POST', '/api/v1/tokens', {
      body: { name: 'e2e' },
      headers: { cookie, 'x-csrf-token': login.json.csrf_token },
    });
    if (made.status !== 201 && made.status !== 200) throw new Error(`token: ${made.text}`);
    return made.json.secret;
  }

  /** An API call as the admin; throws unless 2xx. */
  async api(method, path, body) {
    const res = await this.request(method, path, { body, headers: { authorization: `Bearer ${this.token}` } });
    if (res.status < 200 || res.status > 299) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
    return res.json;
  }

  async createAgent(email, name, password, role = 'agent') {
    const { user } = await this.api('POST', '/api/v1/users', { email, display_name: name, role, password });
    return user;
  }

  async createChannel(fields) {
    return this.api('POST', '/api/v1/channels', fields);
  }

  /** A customer's message through the channel's webhook, as an integrator sends it. */
  async inbound(channel, contact, content, messageId) {
    const res = await this.request('POST', `/webhooks/${channel.channel.id}`, {
      body: { type: 'message', message_id: messageId, contact, content },
      headers: { authorization: `Bearer ${channel.inbound_token}` },
    });
    if (res.status !== 200) throw new Error(`inbound: ${res.status} ${res.text}`);
    return res.json;
  }

  /** A delivery report for one of omnigate's messages. */
  async status(channel, report) {
    const res = await this.request('POST', `/webhooks/${channel.channel.id}`, {
      body: { type: 'status', ...report },
      headers: { authorization: `Bearer ${channel.inbound_token}` },
    });
    if (res.status !== 200) throw new Error(`status: ${res.status} ${res.text}`);
    return res.json;
  }
}

/** A plain-HTTP receiver for a channel's outbound webhook: answers each
 * message with a provider id, `prov-<omnigate id>`, and records it. */
export async function webhookReceiver() {
  const received = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body = {};
      try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { body = {}; }
      received.push(body);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: `prov-${body.message_id}` }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${server.address().port}/hook`, received, close: () => new Promise((r) => server.close(r)) };
}

/** A TCP relay to the server, so a test can cut the network under a
 * browser: `down()` drops every connection and refuses new ones until `up()`. */
export async function tcpRelay(targetPort) {
  const { createServer, connect } = await import('node:net');
  const clients = new Set();
  let refusing = false;
  const relay = createServer((client) => {
    if (refusing) { client.destroy(); return; }
    const upstream = connect(targetPort, '127.0.0.1');
    const close = () => { client.destroy(); upstream.destroy(); clients.delete(client); };
    for (const socket of [client, upstream]) { socket.on('error', close); socket.on('close', close); }
    client.pipe(upstream);
    upstream.pipe(client);
    clients.add(client);
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  return {
    base: `https://127.0.0.1:${relay.address().port}`,
    down() { refusing = true; for (const client of clients) client.destroy(); },
    up() { refusing = false; },
    close() { for (const client of clients) client.destroy(); return new Promise((r) => relay.close(r)); },
  };
}
