import { describe, expect, it } from 'vitest';
import { databaseUnavailable } from './database-errors.ts';

const coded = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('databaseUnavailable', () => {
  it('recognises outages, restarts, full pools and full or busy disks, also as a cause', () => {
    expect(databaseUnavailable(coded('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'))).toBe('ECONNREFUSED');
    expect(databaseUnavailable(coded('terminating connection due to administrator command', '57P01'))).toBe('57P01');
    expect(databaseUnavailable(coded('connection failure', '08006'))).toBe('08006');
    expect(databaseUnavailable(coded('sorry, too many clients already', '53300'))).toBe('53300');
    expect(databaseUnavailable(coded('database or disk is full', 'SQLITE_FULL'))).toBe('its disk is full');
    expect(databaseUnavailable(coded('database is locked', 'SQLITE_BUSY'))).toBe('SQLITE_BUSY');
    expect(databaseUnavailable(new Error('Knex: Timeout acquiring a connection. The pool is probably full.'))).toBe('Timeout acquiring a connection');
    expect(databaseUnavailable(new Error('select 1 - failed', { cause: new Error('Connection terminated unexpectedly') }))).toBe('Connection terminated');
  });

  it('leaves bugs and bad input alone (they stay 500 or 4xx)', () => {
    expect(databaseUnavailable(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBeUndefined();
    expect(databaseUnavailable(coded('duplicate key value violates unique constraint', '23505'))).toBeUndefined();
    expect(databaseUnavailable(coded('relation "x" does not exist', '42P01'))).toBeUndefined();
    expect(databaseUnavailable('a string')).toBeUndefined();
  });
});
