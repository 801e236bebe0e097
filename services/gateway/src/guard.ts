import { ApiError, errors } from '@selfie/contracts';
import { ObjectNotFoundError } from '@selfie/object-store';

export type BackingService = 'mongo' | 'redis' | 's3';

/**
 * Bounds one backing call by `timeoutMs` and turns any failure into 503 `service_unavailable`, so a request
 * never hangs on a dead dependency. ApiErrors raised inside pass through untouched.
 */
export async function guard<T>(service: BackingService, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${service} did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([fn(), timeout]);
  } catch (err) {
    // API errors and "not found" answers are results, not outages.
    if (err instanceof ApiError || err instanceof ObjectNotFoundError) throw err;
    throw errors.unavailable(service, err);
  } finally {
    clearTimeout(timer);
  }
}

/** A view of `target` whose every async method runs through `guard`. */
export function guarded<T extends object>(target: T, service: BackingService, timeoutMs: number): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => guard(service, timeoutMs, () => Promise.resolve(value.apply(obj, args)));
    },
  });
}
