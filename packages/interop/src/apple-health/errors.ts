/** Typed error for Apple Health exports that cannot be read. */
import { MedblocError } from '@medbloc/core/portable';

/**
 * An Apple Health export that is not well-formed XML (the message names the line and column) or whose root element
 * is not `HealthData`.
 *
 * @example
 * try { for await (const o of appleHealthToFhir(stream, opts)) use(o) } catch (e) { if (e instanceof AppleHealthError) warn(e.message) }
 */
export class AppleHealthError extends MedblocError {
  static override readonly code = 'APPLE_HEALTH_INVALID';
  override name = 'AppleHealthError';
}
