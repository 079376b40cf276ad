/** Every error Peregrine raises on purpose says whether trying again can help. */
export class PeregrineError extends Error {
  readonly retryable: boolean;
  constructor(message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.retryable = options.retryable ?? false;
  }
}

/** Bad configuration: stops start-up, names the key. */
export class ConfigError extends PeregrineError {
  constructor(message: string, readonly key?: string) {
    super(message, { retryable: false });
  }
}

/** A record that cannot be decoded: goes to the dead-letter topic, never retried. */
export class DecodeError extends PeregrineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retryable: false, cause: options.cause });
  }
}

/** A peer (Kafka, Elasticsearch, MLflow, Jaeger) that did not answer or refused for now. */
export class UnavailableError extends PeregrineError {
  constructor(readonly service: string, message: string, options: { cause?: unknown } = {}) {
    super(`${service}: ${message}`, { retryable: true, cause: options.cause });
  }
}

/** A write that stored some items and refused the others for good (a bulk request with per-item errors). */
export class PartlyRejectedError extends PeregrineError {
  /** Indexes, in the written batch, of the items refused. */
  constructor(message: string, readonly rejected: number[]) {
    super(message, { retryable: false });
  }
}

export function isRetryable(error: unknown): boolean {
  if (error instanceof PeregrineError) return error.retryable;
  const e = error as { retriable?: boolean; retryable?: boolean } | undefined;
  return Boolean(e?.retriable ?? e?.retryable);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
