/** The PEM files a Kafka client's `kafka.tls` names, read once, in the shape both Kafka clients take. */
import { readFileSync } from 'node:fs';
import type { KafkaConfig } from '../config.ts';

export interface KafkaClientTls {
  rejectUnauthorized: boolean;
  ca?: string[];
  cert?: string;
  key?: string;
}

export function kafkaClientTls(tls: KafkaConfig['tls']): KafkaClientTls | undefined {
  if (!tls) return undefined;
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ca: tls.ca ? [readFileSync(tls.ca, 'utf8')] : undefined,
    cert: tls.cert ? readFileSync(tls.cert, 'utf8') : undefined,
    key: tls.key ? readFileSync(tls.key, 'utf8') : undefined,
  };
}
