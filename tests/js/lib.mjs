// Test fixtures shared by the MQTT.js tests: a minibroker process started from a configuration
// file (the binary `cargo build` made), free loopback ports, and a CA with a server certificate
// made by the openssl command for the wss listener.

import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, "..", "..");
export const brokerBin =
  process.env.MINIBROKER_BIN ?? join(repoRoot, "target", "debug", "minibroker");

/** How long the broker may take to log its listeners, and a test to see a message. */
export const START_TIMEOUT_MS = 10_000;
export const MESSAGE_TIMEOUT_MS = 10_000;

export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), `minibroker-${prefix}-`));
}

/** A loopback port that was free a moment ago. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** A CA and a server certificate for 127.0.0.1 and localhost, in `dir`. */
export function makeCerts(dir) {
  const ssl = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  ssl("req", "-x509", ...ec, "-days", "2", "-subj", "/CN=minibroker js CA",
    "-keyout", "ca.key", "-out", "ca.crt");
  ssl("req", ...ec, "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr");
  writeFileSync(join(dir, "server.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n");
  ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
    "-set_serial", "1", "-days", "2", "-extfile", "server.ext", "-out", "server.crt");
  return { ca: join(dir, "ca.crt"), cert: join(dir, "server.crt"), key: join(dir, "server.key") };
}

/**
 * Starts minibroker with `conf` as its configuration file and waits until it has logged
 * `listeners` "listening on" lines. The broker's log is kept for the failure message.
 */
export async function startBroker(dir, conf, listeners) {
  if (!existsSync(brokerBin)) {
    throw new Error(`${brokerBin} does not exist; build it with \`cargo build\``);
  }
  const confPath = join(dir, "minibroker.conf");
  writeFileSync(confPath, conf);
  const env = { ...process.env };
  delete env.RUST_LOG;
  const proc = spawn(brokerBin, ["-c", confPath, "-v"], { env, stdio: ["ignore", "pipe", "pipe"] });
  const broker = { proc, log: "" };
  const seen = new Promise((resolveSeen, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`broker did not start in time; its log:\n${broker.log}`)),
      START_TIMEOUT_MS,
    );
    const onData = (chunk) => {
      broker.log += chunk;
      if ((broker.log.match(/listening on /g) ?? []).length >= listeners) {
        clearTimeout(timer);
        resolveSeen();
      }
    };
    proc.stdout.on("data", onData);
    proc.stderr.on("data", onData);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code}; its log:\n${broker.log}`));
    });
  });
  await seen;
  return broker;
}

/** SIGTERM, then SIGKILL if the broker is still there after 5 s. */
export async function stopBroker(broker) {
  const { proc } = broker;
  if (proc.exitCode !== null) return;
  const exited = new Promise((done) => proc.once("exit", done));
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/** Resolves with the first message `client` receives on `topic`, or fails after a timeout. */
export function nextMessage(client, topic) {
  return new Promise((resolveMessage, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no message on ${topic} within ${MESSAGE_TIMEOUT_MS} ms`)),
      MESSAGE_TIMEOUT_MS,
    );
    const onMessage = (got, payload, packet) => {
      if (got !== topic) return;
      clearTimeout(timer);
      client.off("message", onMessage);
      resolveMessage({ payload: payload.toString(), packet });
    };
    client.on("message", onMessage);
  });
}
