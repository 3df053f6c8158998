// The id of one run of an operation on the data (recover, erase, redrive): its start time, sortable, and a
// random suffix, e.g. 20261201T102233-1a2b3c4d. Reports are stored under it.
import { randomUUID } from 'node:crypto';

export const runIdAt = (ms: number): string => `${new Date(ms).toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomUUID().slice(0, 8)}`;
