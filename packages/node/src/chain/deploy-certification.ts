/**
 * Deployment of the certification contracts beside an existing AccountRegistry: MED (ERC-20 with permit), MP points,
 * the authority council and peer review, with every role wired. The wallet's account must hold DEFAULT_ADMIN_ROLE on
 * the registry (the deployMedBloc admin); it keeps that role and becomes MP's admin too, next to the council, and may
 * renounce both later so that only the council governs.
 */
import {
  accountRegistryAbi,
  authorityCouncilAbi,
  authorityCouncilBytecode,
  medTokenAbi,
  medTokenBytecode,
  mPPointsAbi,
  mPPointsBytecode,
  peerReviewAbi,
  peerReviewBytecode,
} from '@medbloc/contracts';
import {
  type Abi,
  type Account,
  type Address,
  type Chain,
  getAddress,
  type Hex,
  keccak256,
  type PublicClient,
  parseEther,
  type Transport,
  toHex,
  type WalletClient,
  zeroAddress,
  zeroHash,
} from 'viem';
import { deployContract, waitForSuccess } from './deploy.ts';

/** AuthorityCouncil.Parameters: what the certification flows are parameterised by (MP and MED in base units). */
export interface CertificationParameters {
  /** Reviewers drawn per application (1-32). */
  reviewSize: number;
  /** Revealed votes needed for a decision. */
  quorum: number;
  /** Share of the locked stake burnt from minority voters and non-revealers, in basis points. */
  slashBps: number;
  /** Share of the bond returned to a rejected candidate, in basis points. */
  bondReturnBps: number;
  /** Seconds from application to the end of commits. */
  commitWindow: number;
  /** Seconds from the end of commits to the end of reveals. */
  revealWindow: number;
  /** Seconds a peer-reviewed certification lasts. */
  certificationValidity: number;
  /** Largest staff quota an authority may give an institution. */
  maxStaffQuota: number;
  /** Longest an institution's staff certification may last, in seconds. */
  maxStaffValidity: number;
  /** Seconds a council proposal stays open. */
  proposalLifetime: number;
  /** MP locked per reviewer per review; also the unlocked stake needed to be drawn. */
  reviewerStake: bigint;
  /** MP minted to each majority voter. */
  reviewReward: bigint;
  /** MP minted to an account when certified by an authority or by peer review. */
  certificationReward: bigint;
  /** Least MED bond an application must carry. */
  minBond: bigint;
  /** Receives forfeited bonds; the zero address means the council itself. */
  treasury: Address;
}

const DAY = 24 * 3600;

/** Defaults: a certification reward equal to one reviewer stake, so a newly certified provider can review at once. */
export const defaultCertificationParameters: CertificationParameters = {
  reviewSize: 5,
  quorum: 3,
  slashBps: 2_000,
  bondReturnBps: 5_000,
  commitWindow: 3 * DAY,
  revealWindow: 2 * DAY,
  certificationValidity: 365 * DAY,
  maxStaffQuota: 1_000,
  maxStaffValidity: 365 * DAY,
  proposalLifetime: 7 * DAY,
  reviewerStake: parseEther('100'),
  reviewReward: parseEther('10'),
  certificationReward: parseEther('100'),
  minBond: parseEther('50'),
  treasury: zeroAddress,
};

export interface DeployCertificationParameters {
  publicClient: PublicClient;
  /** Pays for the deployment; must hold DEFAULT_ADMIN_ROLE on `accountRegistry`. Receives the MED supply. */
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  accountRegistry: Address;
  /** The first council members, granted AUTHORITY_ROLE. Default: the wallet's account alone. */
  authorities?: readonly Address[];
  /** Approvals a proposal needs (m of n). Default 1. */
  threshold?: number;
  /** Default: defaultCertificationParameters. */
  parameters?: CertificationParameters;
  /** MED minted to the wallet's account. Default 1,000,000,000 MED. */
  initialSupply?: bigint;
}

export interface DeployCertificationReturnType {
  medToken: Address;
  mpPoints: Address;
  council: Address;
  peerReview: Address;
  /** The block of the first deployment transaction: indexers of these contracts start here. */
  deployBlock: bigint;
}

/**
 * Deploys MedToken, MPPoints, AuthorityCouncil and PeerReview, and grants:
 * - on AccountRegistry: DEFAULT_ADMIN_ROLE and CERTIFIER_ROLE to the council, CERTIFIER_ROLE to peer review,
 *   AUTHORITY_ROLE to each initial authority;
 * - on MPPoints: DEFAULT_ADMIN_ROLE and MINTER_ROLE to the council; MINTER, SLASHER and LOCKER roles to peer review.
 * @example
 * const d = await deployMedBloc({ publicClient, walletClient });
 * const c = await deployCertification({ publicClient, walletClient, accountRegistry: d.accountRegistry,
 *   authorities: [boardA, boardB, boardC], threshold: 2 });
 */
export async function deployCertification({
  publicClient,
  walletClient,
  accountRegistry,
  authorities,
  threshold = 1,
  parameters = defaultCertificationParameters,
  initialSupply = parseEther('1000000000'),
}: DeployCertificationParameters): Promise<DeployCertificationReturnType> {
  const admin = walletClient.account.address;
  const members = (authorities ?? [admin]).map((a) => getAddress(a));
  const chain = walletClient.chain ?? null;

  const deploy = (what: string, abi: Abi, bytecode: Hex, args: readonly unknown[]) =>
    deployContract({ publicClient, walletClient }, what, abi, bytecode, args);

  async function grant(contract: { address: Address; abi: Abi }, role: Hex, to: Address) {
    const hash = await walletClient.writeContract({
      ...contract,
      functionName: 'grantRole',
      args: [role, to],
      chain,
    } as never);
    await waitForSuccess(publicClient, hash, `granting a role on ${contract.address}`);
  }

  const med = await deploy('MedToken', medTokenAbi, medTokenBytecode, [admin, initialSupply]);
  const mp = await deploy('MPPoints', mPPointsAbi, mPPointsBytecode, [admin]);
  const council = await deploy('AuthorityCouncil', authorityCouncilAbi, authorityCouncilBytecode, [
    accountRegistry,
    mp.address,
    members,
    BigInt(threshold),
    parameters,
  ]);
  const review = await deploy('PeerReview', peerReviewAbi, peerReviewBytecode, [
    accountRegistry,
    mp.address,
    med.address,
    council.address,
  ]);

  const registry = { address: accountRegistry, abi: accountRegistryAbi as Abi };
  const points = { address: mp.address, abi: mPPointsAbi as Abi };
  const role = (name: string) => keccak256(toHex(name));
  await grant(registry, zeroHash, council.address); // DEFAULT_ADMIN_ROLE: the council governs AUTHORITY_ROLE
  await grant(registry, role('CERTIFIER_ROLE'), council.address);
  await grant(registry, role('CERTIFIER_ROLE'), review.address);
  for (const authority of members) await grant(registry, role('AUTHORITY_ROLE'), authority);
  await grant(points, zeroHash, council.address);
  await grant(points, role('MINTER_ROLE'), council.address);
  for (const name of ['MINTER_ROLE', 'SLASHER_ROLE', 'LOCKER_ROLE']) {
    await grant(points, role(name), review.address);
  }

  return {
    medToken: med.address,
    mpPoints: mp.address,
    council: council.address,
    peerReview: review.address,
    deployBlock: med.block,
  };
}
