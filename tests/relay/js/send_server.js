// Sends the same calls through one official server-side library to the relay,
// then flushes and exits: 0 when the library reported every call delivered.
// Usage: node send_server.js segment|rudderstack RELAY_URL WRITE_KEY PREFIX
'use strict';
const [library, url, writeKey, prefix] = process.argv.slice(2);

// The calls SegDesk cares about: who someone is, an order, a page, and the rest
// of the Segment Spec (messageIds fixed so the test can count arrivals).
const calls = (send) => {
  const id = (name) => `${prefix}-${name}`;
  send('identify', { userId: 'user-42', anonymousId: 'anon-42', messageId: id('identify'),
    traits: { email: 'ann@example.com', contact_id: 'crm-7' } });
  send('track', { userId: 'user-42', event: 'Order Completed', messageId: id('track'),
    properties: { order_id: `${prefix}-o1`, revenue: 49.5, currency: 'usd' } });
  send('page', { anonymousId: 'anon-42', name: 'Pricing', messageId: id('page'),
    properties: { url: 'https://www.example.com/pricing?utm_source=newsletter' } });
  send('alias', { userId: 'user-42', previousId: 'anon-42', messageId: id('alias') });
  send('group', { userId: 'user-42', groupId: 'org-1', traits: { plan: 'pro' }, messageId: id('group') });
  send('screen', { userId: 'user-42', name: 'Home', messageId: id('screen') });
};

const fail = (err) => {
  console.error(`${library}: ${err && (err.stack || err.message || err)}`);
  process.exit(1);
};

async function segment() {
  // @segment/analytics-node posts {batch, sentAt} to host + path with Basic auth.
  const { Analytics } = require('@segment/analytics-node');
  const analytics = new Analytics({ writeKey, host: url, path: '/v1/batch', maxRetries: 1, flushInterval: 200 });
  const errors = [];
  analytics.on('error', (err) => errors.push(err));
  const delivered = [];
  calls((method, params) => analytics[method](params, (err, ctx) => {
    if (err) errors.push(err); else delivered.push(ctx.event.messageId);
  }));
  await analytics.closeAndFlush({ timeout: 10000 });
  if (errors.length || delivered.length !== 6) fail(errors[0] || `only ${delivered.length} delivered`);
}

async function rudderstack() {
  // RudderStack's Node SDK speaks the same protocol: {batch, sentAt} to
  // dataPlaneUrl + /v1/batch, Basic auth, gzip, originalTimestamp per event.
  const Analytics = require('@rudderstack/rudder-sdk-node');
  const errors = [];
  const client = new Analytics(writeKey, {
    dataPlaneUrl: url, flushAt: 100, flushInterval: 600000, retryCount: 0,
    errorHandler: (err) => errors.push(err), logLevel: 'error',
  });
  calls((method, params) => client[method](params));
  await new Promise((resolve) => client.flush((err) => { if (err) errors.push(err); resolve(); }));
  if (errors.length) fail(errors[0]);
  process.exit(0); // its flush timer would keep the process alive
}

({ segment, rudderstack })[library]().catch(fail);
