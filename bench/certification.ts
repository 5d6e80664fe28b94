/**
 * Gas of certification on a real anvil: a peer-reviewed certification (apply, draw, every reviewer's commit and
 * reveal, finalize) with panels of 3, 7 and 15 reviewers, against direct certification by an authority (through the
 * council, and the registry's relayed `certifyBySig`). Run alone with `BENCH_ONLY=cert npm run bench`.
 */
import { Role } from '@medbloc/core';
import type { PrivateKeyAccount, TransactionReceipt } from 'viem';
import { setupCertification } from '../contracts/test/certification-fixture.ts';
import { randomHash } from '../contracts/test/fixture.ts';

const PANELS = [3, 7, 15] as const;
const CASES = 3;

interface PanelGas {
  reviewers: number;
  apply: number;
  draw: number;
  commit: number;
  reveal: number;
  finalize: number;
  total: number;
}

const avg = (xs: readonly bigint[]) => Number(xs.reduce((a, b) => a + b, 0n)) / xs.length;
const gasOf = (receipts: readonly TransactionReceipt[]) => receipts.map((r) => r.gasUsed);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export async function benchCertification(line: (s: string) => void) {
  const x = await setupCertification();
  try {
    await x.stakedPool(Math.max(...PANELS) + 3); // the panel pool, with spares

    // Direct certification by an authority: through the council (with the MP reward), and the registry's relayed
    // EIP-712 certification.
    const council: bigint[] = [];
    const bySig: bigint[] = [];
    for (let i = 0; i < CASES; i++) {
      const a = await x.user();
      const expiresAt = (await x.f.now()) + 365n * 86_400n;
      council.push(
        (
          await x.f.send(
            x.council,
            'certify',
            [a.address, Role.provider, randomHash(), randomHash(), expiresAt],
            x.authorities[0],
          )
        ).gasUsed,
      );
      const b = await x.user();
      const s = await x.f.signCertify(x.authorities[1] as PrivateKeyAccount, {
        account: b.address,
        role: Role.provider,
        expiresAt,
      });
      bySig.push((await x.f.send(x.f.accounts, 'certifyBySig', s.args)).gasUsed);
    }
    const direct = avg(council);

    const panels: PanelGas[] = [];
    for (const size of PANELS) {
      await x.setParameters({ reviewSize: size, quorum: Math.ceil(size / 2) });
      const g = {
        apply: [] as bigint[],
        draw: [] as bigint[],
        commit: [] as bigint[],
        reveal: [] as bigint[],
      };
      const finals: bigint[] = [];
      for (let i = 0; i < CASES; i++) {
        const candidate = await x.user();
        const app = await x.apply(candidate);
        g.apply.push(app.receipt.gasUsed);
        const { receipt, reviewers } = await x.drawPanel(app.id);
        g.draw.push(receipt.gasUsed);
        // A majority approves, a third of the panel dissents (and is slashed): the settlement's usual mix.
        const dissent = Math.floor(size / 3);
        const votes = reviewers.map((reviewer, k) => ({
          reviewer: reviewer as PrivateKeyAccount,
          approve: k >= dissent,
        }));
        const done = await x.vote(app.id, votes);
        const [commits, reveals] = [done.receipts.slice(0, size), done.receipts.slice(size)];
        g.commit.push(...gasOf(commits));
        g.reveal.push(...gasOf(reveals));
        finals.push(done.receipt.gasUsed);
        if (!(await x.isCertified(candidate.address))) throw new Error('the bench case was not certified');
      }
      const row = {
        reviewers: size,
        apply: avg(g.apply),
        draw: avg(g.draw),
        commit: avg(g.commit),
        reveal: avg(g.reveal),
        finalize: avg(finals),
        total: 0,
      };
      row.total = row.apply + row.draw + size * (row.commit + row.reveal) + row.finalize;
      panels.push(row);
    }

    line('certification gas (mean of 3 cases each; commit and reveal per reviewer):');
    line('  reviewers |   apply |    draw |  commit |  reveal | finalize |     total | vs authority');
    for (const p of panels) {
      line(
        `  ${String(p.reviewers).padStart(9)} | ${fmt(p.apply).padStart(7)} | ${fmt(p.draw).padStart(7)} | ${fmt(p.commit).padStart(7)} | ${fmt(p.reveal).padStart(7)} | ${fmt(p.finalize).padStart(8)} | ${fmt(p.total).padStart(9)} | ${(p.total / direct).toFixed(1)}x`,
      );
    }
    line(
      `  authority: council.certify ${fmt(direct)} gas (with the MP reward); registry certifyBySig ${fmt(avg(bySig))} gas`,
    );
    const [small, , large] = panels as [PanelGas, PanelGas, PanelGas];
    const perReviewer = (large.total - small.total) / (large.reviewers - small.reviewers);
    line(`  each extra reviewer adds ~${fmt(perReviewer)} gas to a peer-reviewed certification`);
    return {
      panels,
      authorityCouncilCertify: direct,
      registryCertifyBySig: avg(bySig),
      ratios: Object.fromEntries(panels.map((p) => [p.reviewers, p.total / direct])),
      gasPerExtraReviewer: perReviewer,
    };
  } finally {
    await x.f.stop();
  }
}
