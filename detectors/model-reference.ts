import { z } from 'zod';

/** A model to load: `models:/NAME@ALIAS` or `models:/NAME/VERSION` from MLflow, or a model package directory; '' = none. */
export const ModelReference = z.string().default('').refine((s) => s === '' || !s.startsWith('models:') || /^models:\/[^@/]+(@[A-Za-z0-9_-]+|\/\d+)$/.test(s), {
  message: 'use models:/NAME@ALIAS, models:/NAME/VERSION or a directory',
});
