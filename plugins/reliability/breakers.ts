// One cockatiel circuit breaker per provider + model: opens on N failures in a row or on a failure rate.
import { circuitBreaker, CircuitState, ConsecutiveBreaker, handleWhen, SamplingBreaker, type CircuitBreakerPolicy, type IBreaker } from 'cockatiel';
import { isProviderFailure } from './classify.ts';
import type { ResolvedReliability } from './options.ts';

/** Opens when either breaker says so: a run of consecutive failures, or a failure rate over the window. */
class EitherBreaker implements IBreaker {
  readonly #breakers: IBreaker[];
  constructor(breakers: IBreaker[]) {
    this.#breakers = breakers;
  }
  get state(): unknown {
    return this.#breakers.map((breaker) => breaker.state);
  }
  set state(value: unknown) {
    if (Array.isArray(value)) this.#breakers.forEach((breaker, i) => (breaker.state = value[i]));
  }
  success(state: CircuitState): void {
    for (const breaker of this.#breakers) breaker.success(state);
  }
  failure(state: CircuitState): boolean {
    let open = false;
    for (const breaker of this.#breakers) if (breaker.failure(state)) open = true;
    return open;
  }
}

export type BreakerStateName = 'closed' | 'open' | 'half-open' | 'isolated';

export function stateName(state: CircuitState): BreakerStateName {
  return state === CircuitState.Closed ? 'closed' : state === CircuitState.Open ? 'open' : state === CircuitState.HalfOpen ? 'half-open' : 'isolated';
}

export interface BreakerListener {
  opened(key: { provider: string; model: string }, failure: unknown): void;
  closed(key: { provider: string; model: string }): void;
}

export class BreakerRegistry {
  readonly #breakers = new Map<string, CircuitBreakerPolicy>();
  readonly #options: ResolvedReliability;
  readonly #listener: BreakerListener;

  constructor(options: ResolvedReliability, listener: BreakerListener) {
    this.#options = options;
    this.#listener = listener;
  }

  get(provider: string, model: string): CircuitBreakerPolicy {
    const key = `${provider}/${model}`;
    let breaker = this.#breakers.get(key);
    if (!breaker) {
      const parts: IBreaker[] = [new ConsecutiveBreaker(this.#options.consecutiveFailures)];
      const rate = this.#options.failureRate;
      if (rate) parts.push(new SamplingBreaker({ threshold: rate.threshold, duration: rate.windowMs, minimumRps: rate.minimumCalls / (rate.windowMs / 1000) }));
      breaker = circuitBreaker(handleWhen(isProviderFailure), { halfOpenAfter: this.#options.cooldownMs, breaker: parts.length === 1 ? parts[0]! : new EitherBreaker(parts) });
      breaker.onBreak((reason) => this.#listener.opened({ provider, model }, 'error' in reason ? reason.error : reason));
      breaker.onReset(() => this.#listener.closed({ provider, model }));
      this.#breakers.set(key, breaker);
    }
    return breaker;
  }

  /** `provider/model` → state, for metrics. */
  states(): Record<string, BreakerStateName> {
    return Object.fromEntries([...this.#breakers].map(([key, breaker]) => [key, stateName(breaker.state)]));
  }
}
