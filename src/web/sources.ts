/**
 * What the dashboard reads, all in the data folder: the alert store, the journey rollups, the
 * outbox and the lake. A file the pipeline has not made yet is opened on the first request after it
 * appears, so `storepulse serve` can start before `storepulse process` (or with the demo).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { SqliteAlertStore } from '../stores/sqlite/alert-store.js';
import { SqliteOutboxStore } from '../stores/sqlite/outbox-store.js';
import { SqliteRollupStore } from '../stores/sqlite/rollup-store.js';
import type { AlertStore, OutboxStore, RollupStore } from '../stores/types.js';

export interface SourceFiles {
  dataDir: string;
  alerts: string;
  journey: string;
  outbox: string;
  lakeDir: string;
  appServer: string;
}

export class DataSources {
  private alertStore: AlertStore | undefined;
  private rollupStore: RollupStore | undefined;
  private outboxStore: OutboxStore | undefined;
  private readonly owned: { close(): Promise<void> }[] = [];

  /** `open`: stores the caller has open already (the demo's), used as they are and not closed here. */
  constructor(
    readonly files: SourceFiles,
    open: { alerts?: AlertStore; journey?: RollupStore } = {},
  ) {
    this.alertStore = open.alerts;
    this.rollupStore = open.journey;
  }

  get lakeDir(): string {
    return this.files.lakeDir;
  }

  get deadLetterDir(): string {
    return path.join(this.files.dataDir, 'deadletter');
  }

  alerts(): AlertStore | undefined {
    if (!this.alertStore && existsSync(this.files.alerts))
      this.alertStore = this.own(new SqliteAlertStore(this.files.alerts, this.files.appServer));
    return this.alertStore;
  }

  journey(): RollupStore | undefined {
    if (!this.rollupStore && existsSync(this.files.journey))
      this.rollupStore = this.own(new SqliteRollupStore(this.files.journey, { readonly: true }));
    return this.rollupStore;
  }

  outbox(): OutboxStore | undefined {
    if (!this.outboxStore && existsSync(this.files.outbox))
      this.outboxStore = this.own(new SqliteOutboxStore(this.files.outbox));
    return this.outboxStore;
  }

  private own<T extends { close(): Promise<void> }>(store: T): T {
    this.owned.push(store);
    return store;
  }

  async close(): Promise<void> {
    for (const s of this.owned.splice(0)) await s.close();
  }
}
