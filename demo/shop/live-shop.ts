/**
 * The live shop: all thirteen services as real HTTP servers on 127.0.0.1 — in this process, or one process per service
 * (so an attack's exec is a child of the named service's own process, as the eBPF sensor sees it) — plus a local TCP
 * sink standing in for the outside addresses attacks connect to.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { KafkaConfig } from '../../core/config.ts';
import type { Logger } from '../../core/log.ts';
import type { Action } from '../traffic/actions.ts';
import { SERVICES, type ServiceName } from './catalog.ts';
import type { HostMessage, HostReply } from './live-host.ts';
import { sendToFrontend, ServiceHost, type HostOptions } from './live.ts';
import type { Flags } from './state.ts';

export interface LiveShopOptions {
  /** OTLP/HTTP base URLs the services export to. */
  otlpEndpoints: string[];
  otlpHeaders?: Record<string, string>;
  kafka: KafkaConfig;
  ordersTopic: string;
  log: Logger;
  /** `per-service`: each service in its own process (needed for execs in a named service's tree). */
  processes: 'single' | 'per-service';
}

interface RemoteHost {
  child: ChildProcess;
  send(message: HostMessage): void;
}

const HOST_SCRIPT = fileURLToPath(new URL('./live-host.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export class LiveShop {
  frontendUrl = '';
  /** Process id serving each service. */
  readonly pids: Partial<Record<ServiceName, number>> = {};
  private readonly flags: Flags = { slowServices: {} };
  private local?: ServiceHost;
  private readonly remotes = new Map<ServiceName, RemoteHost>();
  private sink?: Server;
  private inFlight = 0;
  private closed = false;

  private constructor(private readonly options: LiveShopOptions) {}

  static async start(options: LiveShopOptions): Promise<LiveShop> {
    const shop = new LiveShop(options);
    try {
      await shop.startAll();
    } catch (e) {
      await shop.close();
      throw e;
    }
    return shop;
  }

  private async startAll(): Promise<void> {
    const sink = createServer((socket) => { socket.resume(); socket.on('error', () => socket.destroy()); });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    this.sink = sink;
    const hostOptions = {
      otlpEndpoints: this.options.otlpEndpoints, otlpHeaders: this.options.otlpHeaders, kafka: this.options.kafka,
      ordersTopic: this.options.ordersTopic, sinkPort: (sink.address() as AddressInfo).port,
    };
    const directory: Partial<Record<ServiceName, string>> = {};
    if (this.options.processes === 'single') {
      this.local = new ServiceHost({ ...hostOptions, services: [...SERVICES], log: this.options.log });
      Object.assign(directory, await this.local.start());
      for (const s of SERVICES) this.pids[s] = process.pid;
    } else {
      const started = await Promise.all(SERVICES.map((service) => this.fork(service, hostOptions)));
      for (const urls of started) Object.assign(directory, urls);
      for (const remote of this.remotes.values()) remote.send({ type: 'directory', directory });
    }
    this.frontendUrl = directory.frontend!;
  }

  private fork(service: ServiceName, options: Omit<HostOptions, 'log' | 'services'>): Promise<Partial<Record<ServiceName, string>>> {
    const child = fork(HOST_SCRIPT, [`--service=${service}`], { cwd: REPO_ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const remote: RemoteHost = { child, send: (m) => { if (child.connected) child.send(m); } };
    this.remotes.set(service, remote);
    this.pids[service] = child.pid;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the ${service} process did not start within 60 s`)), 60_000);
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the ${service} process exited (${code}) while starting`)); });
      child.on('message', (m: HostReply) => {
        if (m.type === 'ready') { clearTimeout(timer); resolve(m.urls); }
        if (m.type === 'failed') { clearTimeout(timer); reject(new Error(`the ${service} process failed to start: ${m.error}`)); }
      });
      remote.send({ type: 'start', options: { ...options, services: [service] } });
    });
  }

  /** Carries out one action: a client request to the frontend, a flag change, or an attack inside a service. */
  async apply(action: Action): Promise<number | undefined> {
    switch (action.kind) {
      case 'request': {
        this.inFlight++;
        try {
          return await sendToFrontend(this.frontendUrl, action.request);
        } finally {
          this.inFlight--;
        }
      }
      case 'flags':
        action.change(this.flags);
        this.local?.setFlags(this.flags);
        for (const remote of this.remotes.values()) remote.send({ type: 'flags', flags: this.flags });
        return undefined;
      default: {
        const service = action.kind === 'call' ? action.from : action.service;
        if (this.local) await this.local.attack(action);
        else this.remotes.get(service)?.send({ type: 'attack', action });
        return undefined;
      }
    }
  }

  /** Requests sent and not yet answered. */
  get pending(): number {
    return this.inFlight;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.local?.close();
    await Promise.all([...this.remotes.values()].map((remote) => new Promise<void>((resolve) => {
      if (remote.child.exitCode !== null || !remote.child.connected) {
        resolve();
        return;
      }
      const timer = setTimeout(() => { remote.child.kill('SIGKILL'); resolve(); }, 15_000);
      remote.child.once('exit', () => { clearTimeout(timer); resolve(); });
      remote.send({ type: 'stop' });
    })));
    await new Promise((resolve) => (this.sink ? this.sink.close(resolve) : resolve(undefined)));
  }
}
