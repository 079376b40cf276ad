/**
 * The entry of one service's own process in live mode (LiveShop forks it): runs a ServiceHost for the services it is
 * given and takes its orders (directory, flags, attacks, stop) over the IPC channel.
 */
import { createLogger } from '../../core/log.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Action } from '../traffic/actions.ts';
import type { ServiceName } from './catalog.ts';
import { ServiceHost, type HostOptions } from './live.ts';
import type { Flags } from './state.ts';

export type HostMessage =
  | { type: 'start'; options: Omit<HostOptions, 'log'> }
  | { type: 'directory'; directory: Partial<Record<ServiceName, string>> }
  | { type: 'flags'; flags: Flags }
  | { type: 'attack'; action: Action }
  | { type: 'stop' };

export type HostReply = { type: 'ready'; urls: Partial<Record<ServiceName, string>> } | { type: 'failed'; error: string } | { type: 'stopped' };

const log = createLogger({ level: 'warn', name: 'peregrine-shop' });
let host: ServiceHost | undefined;

function reply(message: HostReply): void {
  process.send?.(message);
}

process.on('message', (message: HostMessage) => {
  void (async () => {
    try {
      switch (message.type) {
        case 'start':
          host = new ServiceHost({ ...message.options, log });
          reply({ type: 'ready', urls: await host.start() });
          return;
        case 'directory':
          host?.setDirectory(message.directory);
          return;
        case 'flags':
          host?.setFlags(message.flags);
          return;
        case 'attack':
          await host?.attack(message.action);
          return;
        case 'stop':
          await host?.close();
          reply({ type: 'stopped' });
          process.disconnect?.();
          return;
      }
    } catch (e) {
      log.error({ err: errorMessage(e) }, 'shop service host failed');
      if (message.type === 'start') reply({ type: 'failed', error: errorMessage(e) });
    }
  })();
});

// The parent going away takes this process with it.
process.on('disconnect', () => {
  void host?.close().finally(() => process.exit(0));
});
