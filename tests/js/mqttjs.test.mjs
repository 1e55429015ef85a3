// MQTT.js (the npm `mqtt` package) in Node against minibroker's WebSocket listeners: MQTT
// 3.1, 3.1.1 and 5 over ws and wss, and messages crossing between WebSocket and TCP clients.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import mqtt from "mqtt";

import {
  freePort, makeCerts, nextMessage, removeDir, startBroker, stopBroker, tempDir,
} from "./lib.mjs";

let dir;
let broker;
let ports;
let ca;

before(async () => {
  dir = tempDir("mqttjs");
  const certs = makeCerts(dir);
  ca = readFileSync(certs.ca);
  ports = { tcp: await freePort(), ws: await freePort(), wss: await freePort() };
  broker = await startBroker(dir, [
    `listener ${ports.tcp} 127.0.0.1`,
    `listener ${ports.ws} 127.0.0.1`,
    "protocol websockets",
    `listener ${ports.wss} 127.0.0.1`,
    "protocol websockets",
    `certfile ${certs.cert}`,
    `keyfile ${certs.key}`,
    "allow_anonymous true",
    "",
  ].join("\n"), 3);
});

after(async () => {
  if (broker) await stopBroker(broker);
  if (dir) removeDir(dir);
});

const urls = {
  tcp: () => `mqtt://127.0.0.1:${ports.tcp}`,
  ws: () => `ws://127.0.0.1:${ports.ws}/mqtt`,
  wss: () => `wss://127.0.0.1:${ports.wss}/mqtt`,
};

/** A connected MQTT.js client; wss trusts the test CA and checks the certificate. */
async function connect(transport, protocolVersion, clientId) {
  const options = {
    protocolVersion,
    clientId,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  };
  if (protocolVersion === 3) {
    // MQTT.js names the protocol MQIsdp for 3.1 only when told to.
    options.protocolId = "MQIsdp";
  }
  if (transport === "wss") {
    Object.assign(options, { ca, rejectUnauthorized: true });
  }
  return mqtt.connectAsync(urls[transport](), options);
}

const versions = [
  [3, "MQTT 3.1"],
  [4, "MQTT 3.1.1"],
  [5, "MQTT 5"],
];

for (const transport of ["ws", "wss"]) {
  for (const [protocolVersion, name] of versions) {
    test(`${name} over ${transport}: QoS 0, 1 and 2 round trip`, async () => {
      const tag = `${transport}-v${protocolVersion}`;
      const client = await connect(transport, protocolVersion, `js-${tag}`);
      try {
        for (const qos of [0, 1, 2]) {
          const topic = `Ergeschoss/Wohnzimmer/${tag}/q${qos}`;
          const granted = await client.subscribeAsync(topic, { qos });
          assert.equal(granted[0].qos, qos);
          const arrived = nextMessage(client, topic);
          await client.publishAsync(topic, `21.${qos}`, { qos });
          const { payload, packet } = await arrived;
          assert.equal(payload, `21.${qos}`);
          assert.equal(packet.qos, qos);
        }
      } finally {
        await client.endAsync();
      }
    });
  }
}

test("MQTT 5 over ws: properties and subscription identifiers arrive", async () => {
  const client = await connect("ws", 5, "js-v5-props");
  try {
    const topic = "Ergeschoss/Küche/Temp";
    await client.subscribeAsync(topic, { qos: 1, properties: { subscriptionIdentifier: 42 } });
    const arrived = nextMessage(client, topic);
    await client.publishAsync(topic, "19.5", {
      qos: 1,
      properties: {
        userProperties: { room: "kitchen" },
        contentType: "text/plain",
        messageExpiryInterval: 60,
      },
    });
    const { payload, packet } = await arrived;
    assert.equal(payload, "19.5");
    assert.deepEqual({ ...packet.properties.userProperties }, { room: "kitchen" });
    assert.equal(packet.properties.contentType, "text/plain");
    // [MQTT-3.3.4-3]: the subscription identifier of the matching subscription is sent.
    assert.deepEqual([packet.properties.subscriptionIdentifier].flat(), [42]);
  } finally {
    await client.endAsync();
  }
});

for (const [from, to] of [["ws", "tcp"], ["tcp", "ws"], ["wss", "ws"], ["tcp", "wss"]]) {
  test(`a message published over ${from} reaches a subscriber on ${to}`, async () => {
    const subscriber = await connect(to, 4, `js-sub-${from}-${to}`);
    const publisher = await connect(from, 5, `js-pub-${from}-${to}`);
    try {
      const topic = `Obergeschoss/Bad/${from}-${to}`;
      await subscriber.subscribeAsync(topic, { qos: 1 });
      const arrived = nextMessage(subscriber, topic);
      await publisher.publishAsync(topic, "55 %", { qos: 1 });
      assert.equal((await arrived).payload, "55 %");
    } finally {
      await publisher.endAsync();
      await subscriber.endAsync();
    }
  });
}

test("a retained message set over TCP is sent to a new ws subscriber", async () => {
  const publisher = await connect("tcp", 4, "js-retain-pub");
  const topic = "Keller/Heizung/Status";
  await publisher.publishAsync(topic, "an", { qos: 1, retain: true });
  await publisher.endAsync();
  const subscriber = await connect("ws", 5, "js-retain-sub");
  try {
    const arrived = nextMessage(subscriber, topic);
    await subscriber.subscribeAsync(topic, { qos: 1 });
    const { payload, packet } = await arrived;
    assert.equal(payload, "an");
    // [MQTT-3.3.1-8]: a retained message sent on subscribe has RETAIN set.
    assert.equal(packet.retain, true);
  } finally {
    await subscriber.endAsync();
  }
});

test("wss refuses a client that does not trust the broker's CA", async () => {
  await assert.rejects(
    mqtt.connectAsync(urls.wss(), {
      clientId: "js-untrusted",
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      rejectUnauthorized: true,
    }),
  );
});
