import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { EventBus } from './events.ts';

describe('EventBus.recorded', () => {
  it('is undefined while no recorder holds anything, and waits for every recorder that does', async () => {
    const bus = new EventBus(pino({ level: 'silent' }));
    expect(bus.recorded()).toBeUndefined();
    const order: string[] = [];
    let releaseA!: () => void;
    let releaseB!: () => void;
    let a: Promise<void> | undefined = new Promise<void>((resolve) => (releaseA = resolve)).then(() => void order.push('a stored'));
    let b: Promise<void> | undefined = new Promise<void>((resolve) => (releaseB = resolve)).then(() => void order.push('b stored'));
    bus.addRecorder(() => a);
    const removeB = bus.addRecorder(() => b);
    const waiting = bus.recorded()!.then(() => void order.push('recorded'));
    releaseB();
    await b;
    expect(order).toEqual(['b stored']);
    releaseA();
    await waiting;
    expect(order).toEqual(['b stored', 'a stored', 'recorded']);
    a = undefined;
    expect(bus.recorded()).toBe(b);
    removeB();
    b = undefined;
    expect(bus.recorded()).toBeUndefined();
  });
});
