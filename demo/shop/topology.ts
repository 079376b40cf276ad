/**
 * Where the simulated shop runs (fast mode): two hosts, one process per service with the executable its language
 * gives it in the OpenTelemetry Demo, a reverse proxy in front of the frontend, and the data stores. Live mode runs
 * the same services on 127.0.0.1 and reports what the sockets and processes really are.
 */
import type { ServiceName } from './catalog.ts';

export interface ServiceHost {
  host: string;
  address: string;
  pid: number;
  /** The Demo's port of the service. */
  port: number;
  executable: string;
  args: string[];
}

export const PROXY = { address: '10.0.1.10', host: 'shop-edge-1' };
export const POSTGRES = { name: 'postgresql', address: '10.0.1.20', port: 5432 };
export const VALKEY = { name: 'valkey-cart', address: '10.0.1.21', port: 6379 };
export const KAFKA = { name: 'kafka', address: '10.0.1.22', port: 9092 };
/** The site's name, as browsers send it in Host. */
export const SITE_HOST = 'shop.example.com';

const NODE_1 = { host: 'shop-node-1', address: '10.0.1.11' };
const NODE_2 = { host: 'shop-node-2', address: '10.0.1.12' };

export const TOPOLOGY: Readonly<Record<ServiceName, ServiceHost>> = {
  frontend: { ...NODE_1, pid: 2211, port: 8080, executable: '/usr/local/bin/node', args: ['node', '--require', './Instrumentation.js', 'server.js'] },
  'product-catalog': { ...NODE_1, pid: 2305, port: 3550, executable: '/usr/src/app/product-catalog', args: ['./product-catalog'] },
  cart: { ...NODE_1, pid: 2342, port: 7070, executable: '/usr/share/dotnet/dotnet', args: ['dotnet', 'cart.dll'] },
  currency: { ...NODE_1, pid: 2377, port: 7001, executable: '/usr/local/bin/currency', args: ['/usr/local/bin/currency', '7001'] },
  recommendation: { ...NODE_1, pid: 2419, port: 9001, executable: '/usr/local/bin/python3.12', args: ['python', 'recommendation_server.py'] },
  ad: { ...NODE_1, pid: 2456, port: 9555, executable: '/opt/java/openjdk/bin/java', args: ['java', '-javaagent:/usr/src/app/opentelemetry-javaagent.jar', '-jar', 'ad.jar'] },
  checkout: { ...NODE_1, pid: 2498, port: 5050, executable: '/usr/src/app/checkout', args: ['./checkout'] },
  payment: { ...NODE_2, pid: 1877, port: 50051, executable: '/usr/local/bin/node', args: ['node', '--require', './opentelemetry.js', 'index.js'] },
  shipping: { ...NODE_2, pid: 1902, port: 50050, executable: '/app/shipping', args: ['/app/shipping'] },
  quote: { ...NODE_2, pid: 1945, port: 8090, executable: '/usr/local/bin/php', args: ['php', '-S', '0.0.0.0:8090', 'index.php'] },
  email: { ...NODE_2, pid: 1988, port: 6060, executable: '/usr/local/bin/ruby', args: ['ruby', 'email_server.rb'] },
  accounting: { ...NODE_2, pid: 2031, port: 0, executable: '/usr/share/dotnet/dotnet', args: ['dotnet', 'Accounting.dll'] },
  'fraud-detection': { ...NODE_2, pid: 2074, port: 0, executable: '/opt/java/openjdk/bin/java', args: ['java', '-javaagent:/app/opentelemetry-javaagent.jar', '-jar', 'fraud-detection.jar'] },
};

export const HOSTS: ReadonlyArray<{ host: string; address: string }> = [NODE_1, NODE_2];
