import { constants } from 'node:os';
import type { FakeNetworkLog } from './fakenet';
import type { GuardConnection, GuardLog } from './guard';
import type { ConnectObservation, Observation } from './observations';

/**
 * Joins what the network guard decided with what the fake network heard. The guard knows which
 * process asked for which address and port; the fake network only sees a loopback client port.
 * The guard logs that local port after connecting, which ties the two together.
 */

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, value]) => [value, name]));

/** `ok`, `in-progress`, or the errno name of a guard result. */
export function resultName(result: number | null): string {
  if (result === null) return 'unknown';
  if (result >= 0) return 'ok';
  if (result === -constants.errno.EINPROGRESS) return 'in-progress';
  return ERRNO_NAMES.get(-result) ?? `errno ${-result}`;
}

const ACTIONS: Record<GuardConnection['action'], ConnectObservation['action']> = {
  redirect: 'redirected',
  pass: 'allowed',
  block: 'blocked',
  continue: 'observed',
};

/**
 * The network observations of one run, in time order: the guard's connection decisions, then the
 * fake network's DNS, HTTP, TLS and raw payload records with the original destination attached.
 * `nameFor` maps a fake resolver address back to its name.
 */
export function networkObservations(
  guard: GuardLog,
  fakenet: FakeNetworkLog,
  nameFor: (address: string) => string | null,
): Observation[] {
  const out: Observation[] = [];
  const byPort = new Map<string, GuardConnection>();
  for (const c of guard.connections) {
    if (c.family === 'unix' || c.family === 'other') {
      out.push({
        type: 'connect',
        source: 'guard',
        call: c.call,
        time: c.time,
        pid: c.pid,
        line: c.line,
        protocol: c.family === 'unix' ? 'unix' : 'other',
        address: c.addr,
        port: null,
        hostname: null,
        action: 'observed',
        reason: null,
        result: 'ok',
      });
      continue;
    }
    if (c.localPort > 0 && c.proto) byPort.set(`${c.proto}:${c.localPort}`, c);
    out.push({
      type: 'connect',
      source: 'guard',
      call: c.call,
      time: c.time,
      pid: c.pid,
      line: c.line,
      protocol: c.proto === 'tcp' || c.proto === 'udp' ? c.proto : 'other',
      address: c.addr,
      port: c.port,
      hostname: nameFor(c.addr),
      action: ACTIONS[c.action],
      reason: c.reason || null,
      result: resultName(c.result),
    });
  }
  // A fake-network record names the client port it came in on; the guard's record of the connect
  // from that port says which process it was and where it meant to go.
  const origin = (proto: 'tcp' | 'udp', clientPort: number) => byPort.get(`${proto}:${clientPort}`);
  for (const d of fakenet.dns) {
    out.push({
      type: 'dns',
      time: d.time,
      pid: origin('udp', d.clientPort)?.pid ?? null,
      line: `fakenet dns ${d.qtype} ${d.name} -> ${d.answer ?? '(no answer)'}`,
      name: d.name,
      qtype: d.qtype,
      answer: d.answer,
    });
  }
  for (const h of fakenet.http) {
    const from = origin('tcp', h.clientPort);
    out.push({
      type: 'http',
      time: h.time,
      pid: from?.pid ?? null,
      line: `fakenet http ${h.method} ${h.host}${h.path} port=${from?.port ?? '?'} ua=${JSON.stringify(h.userAgent ?? '')} body=${h.bodyBytes}B ${JSON.stringify(h.bodyPreview.slice(0, 120))}`,
      method: h.method,
      host: h.host || (from ? (nameFor(from.addr) ?? from.addr) : ''),
      path: h.path,
      userAgent: h.userAgent,
      port: from?.port ?? null,
      bodyBytes: h.bodyBytes,
      bodyPreview: h.bodyPreview,
    });
  }
  for (const t of fakenet.tls) {
    const from = origin('tcp', t.clientPort);
    out.push({
      type: 'tls',
      time: t.time,
      pid: from?.pid ?? null,
      line: `fakenet tls sni=${t.serverName} port=${from?.port ?? '?'}`,
      serverName: t.serverName,
      port: from?.port ?? null,
    });
  }
  for (const p of fakenet.payloads) {
    const from = origin(p.protocol, p.clientPort);
    const hostname = from ? nameFor(from.addr) : null;
    out.push({
      type: 'payload',
      time: p.time,
      pid: from?.pid ?? null,
      line: `fakenet ${p.protocol} ${hostname ?? from?.addr ?? '?'}:${from?.port ?? '?'} ${p.bytes}B ${JSON.stringify(p.preview.slice(0, 200))}`,
      protocol: p.protocol,
      address: from?.addr ?? null,
      port: from?.port ?? null,
      hostname,
      bytes: p.bytes,
      preview: p.preview,
    });
  }
  return out.sort((a, b) => a.time - b.time);
}
