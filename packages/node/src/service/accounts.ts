/**
 * Accounts service: relays self-registration and authority certification (both EIP-712 signed by the user, so the
 * node pays the gas), and reads an account's registration and certifications straight from the chain.
 */
import { Role } from '@medbloc/core';
import type { Address, Hex } from 'viem';
import type { Chain } from '../chain/client.ts';
import type { Indexer } from '../chain/indexer.ts';
import { NodeError } from '../errors.ts';
import { checkSignatureWindow } from './signatures.ts';

export type AccountsService = ReturnType<typeof createAccountsService>;

export function createAccountsService(deps: { chain: Chain; indexer: Indexer }) {
  const { chain, indexer } = deps;
  const registry = chain.contracts.accounts;

  const checkWindow = (signer: Address, nonce: bigint, deadline: bigint) =>
    checkSignatureWindow({
      nonce,
      deadline,
      whose: signer,
      current: () => chain.read<bigint>(registry, 'nonces', [signer]),
    });

  async function relay(functionName: string, args: readonly unknown[]) {
    const receipt = await chain.relay({ ...registry, functionName, args });
    await indexer.sync(receipt.blockNumber);
    return { txHash: receipt.transactionHash, blockNumber: Number(receipt.blockNumber) };
  }

  return {
    async register(i: {
      account: Address;
      encryptionKey: Hex;
      roles: number;
      nonce: bigint;
      deadline: bigint;
      signature: Hex;
    }) {
      if (!Number.isInteger(i.roles) || i.roles <= 0 || i.roles > 7)
        throw new NodeError(
          'INVALID_BODY',
          'roles must be a combination of patient=1, provider=2, researcher=4',
        );
      await checkWindow(i.account, i.nonce, i.deadline);
      return relay('registerBySig', [i.account, i.encryptionKey, i.roles, i.deadline, i.signature]);
    },
    async certify(i: {
      account: Address;
      role: number;
      credentialHash: Hex;
      expiresAt: bigint;
      authority: Address;
      nonce: bigint;
      deadline: bigint;
      signature: Hex;
    }) {
      if (i.role !== Role.provider && i.role !== Role.researcher)
        throw new NodeError('INVALID_BODY', 'role must be provider (2) or researcher (4)');
      const isAuthority = await chain.read<boolean>(registry, 'hasRole', [
        await authorityRole(),
        i.authority,
      ]);
      if (!isAuthority) throw new NodeError('NOT_AUTHORITY', `${i.authority} is not an authority`);
      const registered = await chain.read<boolean>(registry, 'isRegistered', [i.account]);
      if (!registered)
        throw new NodeError('NOT_REGISTERED', `${i.account} must register before it can be certified`);
      await checkWindow(i.authority, i.nonce, i.deadline);
      return relay('certifyBySig', [
        i.account,
        i.role,
        i.credentialHash,
        i.expiresAt,
        i.authority,
        i.deadline,
        i.signature,
      ]);
    },
    async revoke(i: {
      account: Address;
      role: number;
      authority: Address;
      nonce: bigint;
      deadline: bigint;
      signature: Hex;
    }) {
      await checkWindow(i.authority, i.nonce, i.deadline);
      return relay('revokeCertificationBySig', [i.account, i.role, i.authority, i.deadline, i.signature]);
    },
    async get(account: Address) {
      const registered = await chain.read<boolean>(registry, 'isRegistered', [account]);
      if (!registered) throw new NodeError('NOT_REGISTERED', `${account} is not registered`);
      const [encryptionKey, roles, registeredAt] = await chain.read<[Hex, number, bigint]>(
        registry,
        'accountOf',
        [account],
      );
      const certifications = [];
      for (const [name, role] of [
        ['provider', Role.provider],
        ['researcher', Role.researcher],
      ] as const) {
        const [issuer, credentialHash, expiresAt, revoked] = await chain.read<
          [Address, Hex, bigint, boolean]
        >(registry, 'certificationOf', [account, role]);
        if (expiresAt === 0n) continue;
        const certified = await chain.read<boolean>(registry, 'isCertified', [account, role]);
        certifications.push({
          role: name,
          issuer,
          credentialHash,
          expiresAt: Number(expiresAt),
          revoked,
          certified,
        });
      }
      const isAuthority = await chain.read<boolean>(registry, 'hasRole', [await authorityRole(), account]);
      return {
        address: account,
        encryptionKey,
        roles: Number(roles),
        registeredAt: Number(registeredAt),
        authority: isAuthority,
        certifications,
      };
    },
    async nonces(account: Address) {
      const [accounts, records] = await Promise.all([
        chain.read<bigint>(registry, 'nonces', [account]),
        chain.read<bigint>(chain.contracts.records, 'nonces', [account]),
      ]);
      return { accounts: accounts.toString(), records: records.toString() };
    },
  };

  async function authorityRole(): Promise<Hex> {
    return chain.read<Hex>(registry, 'AUTHORITY_ROLE');
  }
}
