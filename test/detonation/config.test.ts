import { describe, expect, it } from 'vitest';
import { verdictOfScore } from '../../lambdas/core/contracts/detonation-report';
import {
  AgentConfigError,
  AgentConfigSchema,
  DEFAULT_SYSCALL_FILTER,
  parseAgentConfig,
} from '../../lambdas/core/contracts/agent-config';
import { onAws } from '../../container/agent';
import { scoreBehavior, emptyBehavior } from '../../container/agent/report';
import { BAND_EDGES } from '../fixtures/bands';
import type { BehaviorKey } from '../../lambdas/core/contracts/detonation-report';

const local = { allowInternet: false };

describe('agent configuration', () => {
  it("accepts the seed's snake_case names and gives camelCase, with sizes in bytes", () => {
    const config = parseAgentConfig(
      {
        memory_limit: '256m',
        cpu_limit: 0.5,
        timeout: 30,
        idle_timeout: 5,
        disk_limit: '1g',
        network_enabled: true,
        internet_access: false,
        dns_servers: ['127.0.0.1'],
        allowed_ports: [80, 443],
        blocked_ports: [25],
        capture_network: true,
        pcap: false,
        trace_syscalls: true,
        syscall_filter: '%process,%network,openat',
        monitor_files: true,
        watched_directories: ['~', '/etc'],
        monitor_processes: true,
        track_children: true,
        monitor_performance: true,
        sample_interval: 0.5,
      },
      local,
    );
    expect(config).toMatchObject({
      memoryLimit: 256 * 1024 * 1024,
      cpuLimit: 0.5,
      diskLimit: 1024 ** 3,
      idleTimeout: 5,
      allowedPorts: [80, 443],
      blockedPorts: [25],
      syscallFilter: ['%process', '%network', 'openat'],
      watchedDirectories: ['~', '/etc'],
      sampleInterval: 0.5,
    });
  });

  it('fills every setting with a safe default', () => {
    const config = parseAgentConfig(undefined, local);
    expect(config).toMatchObject({
      timeout: 60,
      networkEnabled: true,
      internetAccess: false,
      dnsServers: ['127.0.0.1'],
      traceSyscalls: true,
      trackChildren: true,
      pcap: true,
    });
    expect(config.syscallFilter).toEqual([...DEFAULT_SYSCALL_FILTER]);
    expect(config.memoryLimit).toBe(512 * 1024 * 1024);
  });

  it('takes a bare number as MiB', () => {
    expect(parseAgentConfig({ memory_limit: 128 }, local).memoryLimit).toBe(128 * 1024 * 1024);
  });

  it('refuses unknown settings, bad values and a setting named twice', () => {
    expect(() => parseAgentConfig({ memory_limt: '1g' }, local)).toThrow(AgentConfigError);
    expect(() => parseAgentConfig({ timeout: -1 }, local)).toThrow(/timeout/);
    expect(() => parseAgentConfig({ allowed_ports: [70000] }, local)).toThrow(AgentConfigError);
    expect(() => parseAgentConfig({ syscall_filter: ['openat; rm -rf /'] }, local)).toThrow(AgentConfigError);
    expect(() => parseAgentConfig({ memory_limit: '1g', memoryLimit: '2g' }, local)).toThrow(/name the same setting/);
    expect(() => parseAgentConfig({ watched_directories: ['relative/dir'] }, local)).toThrow(AgentConfigError);
  });

  it('refuses internet access unless the local override is given', () => {
    expect(() => parseAgentConfig({ internet_access: true }, local)).toThrow(/internet_access is refused/);
    expect(parseAgentConfig({ internet_access: true }, { allowInternet: true }).internetAccess).toBe(true);
  });

  it('refuses non-loopback name servers without the override (they would bypass the fake resolver)', () => {
    expect(() => parseAgentConfig({ dns_servers: ['8.8.8.8'] }, local)).toThrow(/loopback/);
    expect(parseAgentConfig({ dns_servers: ['127.0.0.53', '::1'] }, local).dnsServers).toEqual(['127.0.0.53', '::1']);
  });

  it('knows when it runs on AWS, where no override counts', () => {
    expect(onAws({ ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/x' })).toBe(true);
    expect(onAws({ AWS_EXECUTION_ENV: 'AWS_ECS_FARGATE' })).toBe(true);
    expect(onAws({ HOME: '/root' })).toBe(false);
  });

  it('exposes the input type as the schema accepts it', () => {
    expect(AgentConfigSchema.safeParse({ timeout: 10 }).success).toBe(true);
  });
});

describe('score and verdict', () => {
  const indicator = (severity: 'low' | 'medium' | 'high' | 'critical') => ({
    id: 'network.test',
    title: 't',
    severity,
    attack: [],
    evidence: ['x'],
    occurrences: 1,
    truncated: false,
  });

  it('bands scores 0–39 benign, 40–69 suspicious, 70–100 malicious, null unknown', () => {
    expect(BAND_EDGES.map(([score]) => verdictOfScore(score))).toEqual(BAND_EDGES.map(([, verdict]) => verdict));
    expect(verdictOfScore(null)).toBe('unknown');
  });

  type Level = 'low' | 'medium' | 'high' | 'critical';
  /** A behaviour with indicators of the given severities under the given keys (tactics). */
  const behaviorOf = (...entries: [BehaviorKey, Level][]) => {
    const behavior = emptyBehavior();
    for (const [key, severity] of entries) behavior[key].push({ ...indicator(severity), id: `${key}.t` });
    return behavior;
  };
  const verdict = (...entries: [BehaviorKey, Level][]) => verdictOfScore(scoreBehavior(behaviorOf(...entries)));

  it('scores nothing 0, and one confident indicator of an attack technique at least suspicious', () => {
    expect(scoreBehavior(emptyBehavior())).toBe(0);
    expect(verdict(['destructive', 'medium'])).toBe('suspicious');
    expect(verdict(['evasion', 'high'])).toBe('suspicious');
    expect(verdict(['persistence', 'critical'])).toBe('malicious');
  });

  it('compounds independent tactics: a medium and a high of two tactics are malicious', () => {
    expect(scoreBehavior(behaviorOf(['execution', 'medium'], ['persistence', 'high']))).toBe(78);
    expect(verdict(['execution', 'medium'], ['evasion', 'medium'])).toBe('malicious');
  });

  it('counts further indicators of one tactic at half: two mediums of one tactic stay suspicious', () => {
    expect(scoreBehavior(behaviorOf(['network', 'medium'], ['network', 'medium']))).toBe(57);
    expect(verdict(['network', 'medium'], ['network', 'medium'])).toBe('suspicious');
    expect(verdict(['dataHarvesting', 'high'], ['dataHarvesting', 'high'])).toBe('malicious');
  });

  it('keeps discovery alone benign, however much of it, and lets it tip nothing by itself', () => {
    const lows = Array.from({ length: 20 }, (_, i): [BehaviorKey, Level] => [
      i % 2 ? 'dataHarvesting' : 'network',
      'low',
    ]);
    expect(scoreBehavior(behaviorOf(...lows))).toBe(30);
    expect(verdict(...lows)).toBe('benign');
    expect(scoreBehavior(behaviorOf(['dataHarvesting', 'low'], ['network', 'low'], ['execution', 'low']))).toBe(27);
  });

  it("computes the README's worked example: a cron job and a download piped into a shell are 87, malicious", () => {
    const example = behaviorOf(
      ['persistence', 'high'],
      ['execution', 'high'],
      ['execution', 'low'],
      ['network', 'low'],
    );
    expect(scoreBehavior(example)).toBe(87);
    expect(scoreBehavior(behaviorOf(['persistence', 'high']))).toBe(60);
    expect(scoreBehavior(behaviorOf(['dataHarvesting', 'low'], ['execution', 'low'], ['network', 'low']))).toBe(27);
  });
});
