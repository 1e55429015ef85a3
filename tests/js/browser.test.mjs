// A real browser: headless Chromium opens a page that minibroker's http_dir serves, the page
// connects back over WebSockets with MQTT.js's browser bundle, and the test reads what the
// page shows. Skipped, saying so, when Debian's chromium is not installed.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, copyFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";

import {
  MESSAGE_TIMEOUT_MS, freePort, nextMessage, removeDir, startBroker, stopBroker, tempDir,
} from "./lib.mjs";

const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const here = dirname(fileURLToPath(import.meta.url));
// Without these, Chromium keeps trying hosts a closed network refuses, at every start.
const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let dir;
let broker;
let ports;

before(async () => {
  if (!existsSync(chromiumPath)) return;
  dir = tempDir("browser");
  const www = join(dir, "www");
  mkdirSync(www);
  copyFileSync(join(here, "page", "index.html"), join(www, "index.html"));
  // The browser bundle MQTT.js ships (its package exports do not name it).
  copyFileSync(join(here, "node_modules", "mqtt", "dist", "mqtt.min.js"), join(www, "mqtt.min.js"));
  // Started as root, the broker runs as the mosquitto user, which must be able to read them.
  chmodSync(dir, 0o755);
  chmodSync(www, 0o755);
  ports = { tcp: await freePort(), ws: await freePort() };
  broker = await startBroker(dir, [
    `listener ${ports.tcp} 127.0.0.1`,
    `listener ${ports.ws} 127.0.0.1`,
    "protocol websockets",
    `http_dir ${www}`,
    "allow_anonymous true",
    "",
  ].join("\n"), 2);
});

after(async () => {
  if (broker) await stopBroker(broker);
  if (dir) removeDir(dir);
});

test("a dashboard page in headless Chromium subscribes, publishes and shows messages",
  { skip: !existsSync(chromiumPath) && `${chromiumPath} is not installed (apt-get install chromium)` },
  async () => {
    const { chromium } = await import("playwright-core");
    const tcp = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.tcp}`, {
      clientId: "tcp-side",
      reconnectPeriod: 0,
    });
    const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
    try {
      // Retained before the page loads: the page's subscription gets it first.
      await tcp.publishAsync("home/hall/door", "closed", { qos: 1, retain: true });
      await tcp.subscribeAsync("browser/hello", { qos: 1 });
      const hello = nextMessage(tcp, "browser/hello");
      // Awaited below; this keeps an early failure from also reporting it as unhandled.
      hello.catch(() => {});

      const page = await browser.newPage();
      const response = await page.goto(`http://127.0.0.1:${ports.ws}/index.html`);
      assert.equal(response.status(), 200, "http_dir serves the page");
      await page.waitForFunction(
        () => document.getElementById("status").textContent === "subscribed",
        null,
        { timeout: MESSAGE_TIMEOUT_MS },
      );
      assert.equal((await hello).payload, "hello from the dashboard");

      await tcp.publishAsync("home/livingroom/temp", "21.5", { qos: 1 });
      await tcp.publishAsync("home/kitchen/temp", "19.0", { qos: 0 });
      await tcp.publishAsync("garden/temp", "4.0", { qos: 0 });
      await page.waitForFunction(
        () => document.getElementById("log").textContent.includes("home/kitchen/temp"),
        null,
        { timeout: MESSAGE_TIMEOUT_MS },
      );
      const shown = await page.textContent("#log");
      assert.equal(
        shown,
        "home/hall/door: closed\nhome/livingroom/temp: 21.5\nhome/kitchen/temp: 19.0\n",
        "the page shows what matched home/#, in order, and nothing else",
      );
    } finally {
      await browser.close();
      await tcp.endAsync();
    }
  });
