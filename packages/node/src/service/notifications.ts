/**
 * A patient's notifications, derived from what the node already records: an emergency (break-glass) opening of
 * the patient's profile, a record added by someone else (a provider or a delegate), and the first access by a party
 * that never read the patient's data before. Nothing here is new information for the node — it is the owner's own
 * access log and anchors, summarised — and only the owner may ask.
 */
import { AccessOutcome, AccessPurpose } from '@medbloc/core';
import { type Address, getAddress } from 'viem';
import type { Db } from '../db/sqlite.ts';
import { NodeError } from '../errors.ts';

const EMERGENCY = AccessPurpose.emergency;

export interface Notification {
  kind: 'break-glass' | 'record-added' | 'new-accessor';
  /** Unix seconds. */
  time: number;
  /** Who did it. */
  actor: Address;
  /** The record (or emergency request) concerned. */
  subject: string;
  outcome?: 'granted' | 'denied';
}

export type NotificationsService = ReturnType<typeof createNotificationsService>;

export function createNotificationsService(deps: { db: Db }) {
  const q = (sql: string) => deps.db.raw.prepare(sql);
  const breakGlass = q(`SELECT requester, record, logged_at, outcome FROM receipts
    WHERE owner = ? AND purpose = ${EMERGENCY} AND logged_at >= ?`);
  const recordsByOthers = q(`SELECT creator, record_id, anchored_at FROM records
    WHERE owner = ? AND creator != owner AND anchored_at >= ?`);
  const firstAccesses = q(`SELECT requester, record, MIN(logged_at) AS first FROM receipts
    WHERE owner = ? AND requester != owner AND purpose != ${EMERGENCY} AND outcome = ${AccessOutcome.granted}
    GROUP BY requester HAVING first >= ?`);
  const outcome = (o: number) => (o === AccessOutcome.granted ? ('granted' as const) : ('denied' as const));

  return {
    /** The owner's notifications since `since` (unix seconds), newest first. */
    list(caller: Address, owner: Address, since = 0): Notification[] {
      if (caller !== owner) throw new NodeError('FORBIDDEN', 'notifications are for the patient only');
      const who = owner.toLowerCase();
      const out: Notification[] = [];
      for (const r of breakGlass.all(who, since) as {
        requester: string;
        record: string;
        logged_at: number;
        outcome: number;
      }[]) {
        out.push({
          kind: 'break-glass',
          time: r.logged_at,
          actor: getAddress(r.requester),
          subject: r.record,
          outcome: outcome(r.outcome),
        });
      }
      for (const r of recordsByOthers.all(who, since) as {
        creator: string;
        record_id: string;
        anchored_at: number;
      }[]) {
        out.push({
          kind: 'record-added',
          time: r.anchored_at,
          actor: getAddress(r.creator),
          subject: r.record_id,
        });
      }
      for (const r of firstAccesses.all(who, since) as {
        requester: string;
        record: string;
        first: number;
      }[]) {
        out.push({ kind: 'new-accessor', time: r.first, actor: getAddress(r.requester), subject: r.record });
      }
      return out.sort((a, b) => b.time - a.time);
    },
  };
}
