// SPEC.md "Errors, retries, offline": failed requests or the OS take the engine offline; it probes /sync/health
// only while offline, and is online again when the platform answers.
import { afterEach, describe, expect, it } from 'vitest';
import { type ApiClient, createApiClient } from '../../sync-engine/endpoints.js';
import { createOnlineMonitor, type OnlineMonitor } from '../../sync-engine/online.js';
import { sendJson, startServer, type TestServer, waitFor } from './engine-api-helpers.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function healthServer(port = 0): Promise<TestServer> {
  return startServer((q, s) => {
    if (q.url === '/sync/health') sendJson(s, 200, { ok: true });
    else sendJson(s, 404, {});
  }, port);
}

function track(monitor: OnlineMonitor): string[] {
  const events: string[] = [];
  monitor.on('offline', () => events.push('offline'));
  monitor.on('online', () => events.push('online'));
  cleanup.push(() => monitor.stop());
  return events;
}

function apiFor(origin: string): ApiClient {
  const api = createApiClient({ origin, getToken: () => null, clientVersion: '1', timeoutMs: 1000, retryDelaysMs: [] });
  cleanup.push(() => api.close());
  return api;
}

/** A monitor probing a healthy server every 5 ms, counting its probes. */
async function countingMonitor() {
  const server = await healthServer();
  cleanup.push(() => server.close());
  const api = apiFor(server.origin);
  let probes = 0;
  const monitor = createOnlineMonitor({
    probe: () => {
      probes++;
      return api.health();
    },
    intervalMs: 5,
  });
  return { server, monitor, probes: () => probes };
}

describe('online monitor', () => {
  it('goes offline on a network failure, probes health while offline, and comes back when it answers', async () => {
    let server = await healthServer();
    const port = server.port;
    const api = apiFor(server.origin);
    await server.close();

    const monitor = createOnlineMonitor({ probe: () => api.health(), intervalMs: 20 });
    const events = track(monitor);
    expect(monitor.online).toBe(true);
    // A request gave up: that is what the client reports through onNetworkFailure.
    const failure = await api.me().catch((e: unknown) => e);
    monitor.reportNetworkFailure(failure);
    expect(monitor.online).toBe(false);
    expect(events).toEqual(['offline']);

    server = await healthServer(port);
    cleanup.push(() => server.close());
    await monitor.waitForOnline();
    expect(events).toEqual(['offline', 'online']);
    expect(server.requests.every((r) => r.url === '/sync/health')).toBe(true);
    expect(server.requests.length).toBeGreaterThanOrEqual(1);
  });

  it('does not probe while online', async () => {
    const { server, monitor, probes } = await countingMonitor();
    track(monitor);
    monitor.reportNetworkFailure();
    await monitor.waitForOnline();
    const after = probes();
    // Give a probing loop many intervals' worth of chances to run: it must not.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(probes()).toBe(after);
    expect(server.requests).toHaveLength(after);
  });

  it('trusts the OS saying offline, and probes once the OS says the network is back', async () => {
    const { monitor, probes } = await countingMonitor();
    const events = track(monitor);
    monitor.setOsOnline(false);
    expect(events).toEqual(['offline']);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(probes()).toBe(0);
    monitor.setOsOnline(true);
    await waitFor(() => monitor.online, 5000, 'online');
    expect(events).toEqual(['offline', 'online']);
    expect(probes()).toBe(1);
  });

  it('a health answer that is not {ok: true} does not count as online', async () => {
    const server = await startServer((_q, s) => sendJson(s, 200, { ok: false }));
    cleanup.push(() => server.close());
    const api = apiFor(server.origin);
    const monitor = createOnlineMonitor({ probe: () => api.health(), intervalMs: 5 });
    track(monitor);
    monitor.reportNetworkFailure();
    await waitFor(() => server.requests.length >= 3, 5000, 'three probes');
    expect(monitor.online).toBe(false);
  });
});
