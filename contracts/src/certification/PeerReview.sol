// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {AccountRegistry} from "../AccountRegistry.sol";
import {AuthorityCouncil} from "./AuthorityCouncil.sol";
import {MPPoints} from "./MPPoints.sol";

/**
 * @title PeerReview
 * @notice Certification by peers: a case is opened with a MED bond, staked certified providers are drawn to review it
 * and vote by sealed ballot (commit, then reveal); the majority of revealed votes decides.
 *
 * Kinds of case (`Application.kind`), each about a `subject`, the account whose certification is at stake:
 * - APPLY: a candidate (the subject) asks to be certified for a role (`applyBySig`, `applyWithPermitBySig`).
 * - RENEWAL: the same call by an account whose certification for the role is live, or expired less than
 *   `RENEWAL_GRACE` ago, and not revoked. Approval extends the expiry by the governed validity, counted from the old
 *   expiry while it lies ahead, from now otherwise.
 * - CHALLENGE: a certified provider bonds MED against a certified subject, with the digest of its evidence
 *   (`challenge`, `challengeBySig`). Reviewers vote on the challenge: approve = uphold it. Upheld, the subject's
 *   certification is revoked and the challenger's bond returned in full; otherwise the bond is settled as a rejected
 *   candidate's (`bondReturnBps` back, the rest to the treasury).
 * - APPEAL: the loser of a case (a rejected candidate or renewer, or the subject of an upheld challenge) appeals it
 *   once (`appeal`, `appealBySig`), bonding as much as the case it appeals (at least the governed minimum). Fresh
 *   reviewers are drawn, excluding the first panel as far as the pool allows. Approval certifies the appellant (for an
 *   appeal of a challenge: reinstates its certification, with its old expiry if still ahead). An appeal is final: it
 *   cannot itself be appealed, and a case is appealed at most once (`PeerReviewAlreadyAppealed`).
 * A subject has at most one open case per role (`PeerReviewCaseOpen`), so a renewal cannot undo a concurrent challenge.
 *
 * Flow: opening a case takes the bond and schedules the draw at the block that includes it. From the next block,
 * anyone calls `draw` (the node's relayer does at once): it draws `reviewSize` reviewers and locks `reviewerStake` MP
 * of each. During the commit window (counted from the opening) each drawn reviewer commits
 * `keccak256(abi.encode(applicationId, reviewer, approve, salt))`; during the reveal window they reveal. After it,
 * `finalize` (anyone) tallies and settles. Parameters come from AuthorityCouncil and are fixed per case when opened.
 *
 * Decision rules:
 * - Too few reviewers: opening a case needs at least `reviewSize` stakers in the pool, else it reverts
 *   (`PeerReviewNotEnoughReviewers`) and nothing is taken. If the draw then finds fewer than `reviewSize` eligible
 *   ones (certified providers with enough unlocked stake, neither the candidate nor the subject), the case closes at
 *   once as NO_QUORUM and the bond is refunded; no reviewer is touched. A case never drawn closes the same way at
 *   `finalize`.
 * - Quorum: with fewer than `quorum` revealed votes nothing is decided (NO_QUORUM): the bond is refunded, revealed
 *   voters are neither rewarded nor slashed, drawn reviewers who did not reveal are slashed.
 * - Majority: approvals > rejections approves; anything else rejects. A tie therefore keeps the status quo (no
 *   certification, no renewal, a challenged subject stays certified, an appeal fails; the bond is settled as for a
 *   rejection) and, there being no majority, revealed voters are neither rewarded nor slashed; non-revealers are.
 * - Settlement: majority voters are minted `reviewReward` MP; minority voters and non-revealers lose `slashBps` of
 *   their locked stake (capped by what remains staked); an account certified by an APPLY (or its appeal) earns the
 *   certification reward once per role, never for a renewal or a reinstatement. MED is conserved: a bond is returned
 *   whole, or split between its owner and the treasury.
 *
 * Ballots are secret until the reveal window: a commitment hides the vote and binds the reviewer's address, so a
 * copied commitment cannot be revealed by the copier, and a reveal relayed or front-run by anyone (`revealVoteFor`)
 * can only disclose the vote the reviewer committed. Revealed votes are public (rewards and slashes depend on them);
 * unlinkable votes would need an anonymous-voting scheme (e.g. Semaphore), not done here. A reviewer who stalls loses
 * its slash and cannot hold a case up: `finalize` needs nobody's cooperation once the reveal window is over.
 *
 * Randomness: the draw seed is the hash of the block that included the opening (`drawBlock`), mixed with the case id.
 * That hash does not exist when the case is signed or submitted, so neither the candidate nor its relayer can compute
 * the draw in advance and pick a favourable block, as they could with a seed from the previous block. The hash is
 * fixed once the block is sealed, so whoever calls `draw`, and when, does not change the seed. `blockhash` reaches
 * back 256 blocks only: a draw called later reschedules to the current block (`DrawScheduled`) and is called again
 * from the next one; withholding the draw that long needs everyone (candidate, reviewers, nodes) to refrain. What
 * remains: the producer of `drawBlock` chooses its contents and may withhold it, so it can grind the seed at the cost
 * of block rewards; on a dev chain (anvil) or a sequencer-run L2 the sequencer controls it outright, and stakers who
 * see the seed before the draw may stake or unstake to shift positions in the pool. A VRF or a commit-reveal beacon
 * would remove these; the pool's size and the bond make grinding costly in the meantime.
 * Gas of a draw is bounded: 4 random probes per seat, then a sweep of at most 256 pool positions (twice for an
 * appeal, whose first sweep excludes the first panel). It depends on the seed: relayers should add a margin.
 *
 * Reentrancy: the contract calls only the registry, MPPoints, MED and the council, all fixed at construction and none
 * calling back into a user's code (MED is a plain ERC-20 with no transfer hooks); ERC-1271 checks are static calls.
 * State is settled before any token moves (checks-effects-interactions), and every state-changing entry point that
 * moves tokens or stake is also `nonReentrant` (transient storage), in case a deployment wires another token.
 */
contract PeerReview is EIP712, Nonces, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    uint8 public constant PENDING = 1;
    uint8 public constant APPROVED = 2;
    uint8 public constant REJECTED = 3;
    uint8 public constant NO_QUORUM = 4;

    uint8 public constant DRAWN = 1;
    uint8 public constant COMMITTED = 2;
    uint8 public constant REVEALED = 3;

    uint8 public constant APPLY = 0;
    uint8 public constant RENEWAL = 1;
    uint8 public constant CHALLENGE = 2;
    uint8 public constant APPEAL = 3;

    /// @notice How long after its expiry a certification may still be renewed (rather than applied for anew).
    uint64 public constant RENEWAL_GRACE = 30 days;

    uint16 private constant _BPS = 10_000;
    uint256 private constant _PROBES_PER_SEAT = 4;
    uint256 private constant _MAX_SWEEP = 256;
    bytes32 private constant _REVIEW_REWARD = "review";
    bytes32 private constant _CERTIFICATION_REWARD = "certification";
    bytes32 private constant _MINORITY_SLASH = "review-minority";
    bytes32 private constant _NO_REVEAL_SLASH = "review-no-reveal";

    bytes32 private constant _APPLY_TYPEHASH = keccak256(
        "ApplyForCertification(address candidate,uint8 role,bytes32 credentialHash,bytes32 evidencePointer,uint256 bond,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant _COMMIT_VOTE_TYPEHASH = keccak256(
        "CommitVote(uint256 applicationId,address reviewer,bytes32 commitment,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant _CHALLENGE_TYPEHASH = keccak256(
        "ChallengeCertification(address challenger,address subject,uint8 role,bytes32 evidenceHash,uint256 bond,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant _APPEAL_TYPEHASH =
        keccak256("AppealDecision(uint256 applicationId,address appellant,uint256 nonce,uint256 deadline)");

    /**
     * @dev The parameters a case was opened under, packed beside the credential. `candidate` bonded and opened the
     * case (the challenger of a challenge); `subject` is the account whose certification is at stake (the candidate
     * itself for every other kind). `drawBlock` is the block whose hash seeds the draw; `appealOf` the case an appeal
     * appeals (0 otherwise); `reviewSize` the seats to draw.
     */
    struct Application {
        address candidate;
        uint8 role;
        uint8 status;
        uint8 approvals;
        uint8 rejections;
        uint8 quorum;
        uint16 slashBps;
        uint16 bondReturnBps;
        uint64 commitEnd;
        uint64 revealEnd;
        uint32 certificationValidity;
        uint128 bond;
        uint128 reviewerStake;
        uint128 reviewReward;
        uint128 certificationReward;
        bytes32 credentialHash;
        uint8 kind;
        address subject;
        uint64 drawBlock;
        uint8 reviewSize;
        uint64 appealOf;
    }

    /// @dev A drawn reviewer's place: who, how far they got, their vote once revealed, their commitment.
    struct Seat {
        address reviewer;
        uint8 state;
        bool approve;
        bytes32 commitment;
    }

    /// @dev A draw in progress: the parties, the stake each seat locks, the seats filled so far, who to avoid.
    struct Pick {
        address candidate;
        address subject;
        uint256 stake;
        address[] chosen;
        uint256 found;
        address[] excluded;
    }

    /// @notice An EIP-2612 permit for the bond (value = the bond), signed by the candidate.
    struct Permit {
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    AccountRegistry private immutable _registry;
    MPPoints private immutable _points;
    IERC20 private immutable _med;
    AuthorityCouncil private immutable _council;
    uint8 private immutable _provider;
    uint8 private immutable _researcher;

    uint256 private _applicationCount;
    mapping(uint256 applicationId => Application) private _applications;
    mapping(uint256 applicationId => Seat[]) private _seats;
    mapping(address account => mapping(uint8 role => bool)) private _rewarded;
    mapping(address subject => mapping(uint8 role => uint256 applicationId)) private _openCase;
    mapping(uint256 applicationId => uint256 appealId) private _appeals;

    event ApplicationSubmitted(
        uint256 indexed applicationId,
        address indexed candidate,
        uint8 indexed role,
        bytes32 credentialHash,
        bytes32 evidencePointer,
        uint256 bond,
        uint64 commitEnd,
        uint64 revealEnd
    );
    /// @notice Emitted with every ApplicationSubmitted: what kind of case it is, about whom, and which block seeds it.
    event CaseOpened(
        uint256 indexed applicationId, uint8 indexed kind, address indexed subject, uint256 appealOf, uint64 drawBlock
    );
    /// @notice The draw was called after `blockhash` forgot the scheduled block: it now draws from `drawBlock`.
    event DrawScheduled(uint256 indexed applicationId, uint64 drawBlock);
    event ReviewerDrawn(uint256 indexed applicationId, address indexed reviewer);
    event VoteCommitted(uint256 indexed applicationId, address indexed reviewer, bytes32 commitment);
    event VoteRevealed(uint256 indexed applicationId, address indexed reviewer, bool approve);
    event ReviewerRewarded(uint256 indexed applicationId, address indexed reviewer, uint256 amount);
    event ReviewerSlashed(uint256 indexed applicationId, address indexed reviewer, uint256 amount, bool revealed);
    event ApplicationFinalized(
        uint256 indexed applicationId,
        uint8 indexed status,
        uint8 approvals,
        uint8 rejections,
        uint256 bondReturned,
        uint256 bondForfeited
    );

    error PeerReviewExpiredSignature(uint256 deadline);
    error PeerReviewInvalidSignature(address signer);
    error PeerReviewInvalidRole(uint8 role);
    error PeerReviewNotRegistered(address candidate);
    error PeerReviewBondTooLow(uint256 bond, uint256 minBond);
    error PeerReviewNotEnoughReviewers(uint256 found, uint256 needed);
    error PeerReviewUnknownApplication(uint256 applicationId);
    error PeerReviewNotPending(uint256 applicationId, uint8 status);
    error PeerReviewNotReviewer(uint256 applicationId, address account);
    error PeerReviewCommitClosed(uint256 applicationId, uint64 commitEnd);
    error PeerReviewRevealNotOpen(uint256 applicationId, uint64 commitEnd, uint64 revealEnd);
    error PeerReviewRevealOpen(uint256 applicationId, uint64 revealEnd);
    error PeerReviewAlreadyCommitted(uint256 applicationId, address reviewer);
    error PeerReviewNotCommitted(uint256 applicationId, address reviewer);
    error PeerReviewInvalidCommitment();
    error PeerReviewInvalidReveal(uint256 applicationId, address reviewer);
    error PeerReviewCaseOpen(address subject, uint8 role, uint256 applicationId);
    error PeerReviewNotCertified(address account, uint8 role);
    error PeerReviewSelfChallenge(address account);
    error PeerReviewAlreadyDrawn(uint256 applicationId);
    error PeerReviewDrawNotReady(uint256 applicationId, uint64 drawBlock);
    error PeerReviewNotAppealable(uint256 applicationId, address appellant);
    error PeerReviewAlreadyAppealed(uint256 applicationId, uint256 appealId);

    constructor(AccountRegistry registry_, MPPoints points_, IERC20 med_, AuthorityCouncil council_)
        EIP712("MedBloc", "1")
    {
        _registry = registry_;
        _points = points_;
        _med = med_;
        _council = council_;
        _provider = registry_.PROVIDER();
        _researcher = registry_.RESEARCHER();
    }

    // ---------------------------------------------------------------------------------------------------- applying

    /**
     * @notice Opens `candidate`'s application (or renewal, see RENEWAL) on its EIP-712 `ApplyForCertification`
     * signature and takes `bond` MED from it (allowance needed); reviewers are drawn by `draw` from the next block.
     * Returns the application id (from 1).
     */
    function applyBySig(
        address candidate,
        uint8 role,
        bytes32 credentialHash,
        bytes32 evidencePointer,
        uint256 bond,
        uint256 deadline,
        bytes calldata signature
    ) external nonReentrant returns (uint256) {
        return _apply(candidate, role, credentialHash, evidencePointer, bond, deadline, signature);
    }

    /// @notice As `applyBySig`, with an EIP-2612 permit for the bond, so the candidate needs no transaction at all.
    function applyWithPermitBySig(
        address candidate,
        uint8 role,
        bytes32 credentialHash,
        bytes32 evidencePointer,
        uint256 bond,
        uint256 deadline,
        bytes calldata signature,
        Permit calldata permit
    ) external nonReentrant returns (uint256) {
        // A permit front-run by someone else has still set the allowance: tolerate its failure here.
        try IERC20Permit(address(_med)).permit(
            candidate, address(this), bond, permit.deadline, permit.v, permit.r, permit.s
        ) {} catch {}
        return _apply(candidate, role, credentialHash, evidencePointer, bond, deadline, signature);
    }

    /**
     * @notice The caller, a certified provider, challenges `subject`'s live certification for `role`, bonding `bond`
     * MED (allowance needed) behind the evidence whose digest is `evidenceHash`. Returns the case id.
     */
    function challenge(address subject, uint8 role, bytes32 evidenceHash, uint256 bond)
        external
        nonReentrant
        returns (uint256)
    {
        return _challenge(msg.sender, subject, role, evidenceHash, bond);
    }

    /**
     * @notice As `challenge`, on `challenger`'s EIP-712 signature (relayed), of type `ChallengeCertification(address
     * challenger,address subject,uint8 role,bytes32 evidenceHash,uint256 bond,uint256 nonce,uint256 deadline)`.
     */
    function challengeBySig(
        address challenger,
        address subject,
        uint8 role,
        bytes32 evidenceHash,
        uint256 bond,
        uint256 deadline,
        bytes calldata signature
    ) external nonReentrant returns (uint256) {
        if (block.timestamp > deadline) revert PeerReviewExpiredSignature(deadline);
        _checkSignature(
            challenger, _challengeStructHash(challenger, subject, role, evidenceHash, bond, deadline), signature
        );
        return _challenge(challenger, subject, role, evidenceHash, bond);
    }

    /// @notice The caller, loser of case `applicationId`, appeals it (once), bonding as much again (allowance needed).
    function appeal(uint256 applicationId) external nonReentrant returns (uint256) {
        return _appeal(applicationId, msg.sender);
    }

    /**
     * @notice As `appeal`, on `appellant`'s EIP-712 signature (relayed), of type `AppealDecision(uint256
     * applicationId,address appellant,uint256 nonce,uint256 deadline)`.
     */
    function appealBySig(uint256 applicationId, address appellant, uint256 deadline, bytes calldata signature)
        external
        nonReentrant
        returns (uint256)
    {
        if (block.timestamp > deadline) revert PeerReviewExpiredSignature(deadline);
        bytes32 structHash =
            keccak256(abi.encode(_APPEAL_TYPEHASH, applicationId, appellant, _useNonce(appellant), deadline));
        _checkSignature(appellant, structHash, signature);
        return _appeal(applicationId, appellant);
    }

    /**
     * @notice Draws the reviewers of a pending case from the hash of its `drawBlock`; anyone may call it from the
     * block after. Returns true once drawn; false if the case was rescheduled (the block hash was too old) or closed
     * for want of eligible reviewers (NO_QUORUM, bond refunded). On a chain that mines a block per transaction
     * (anvil), the block after the opening exists only once this call is mined: estimate it against the pending block.
     */
    function draw(uint256 applicationId) external nonReentrant returns (bool) {
        Application storage a = _pending(applicationId);
        if (_seats[applicationId].length != 0) revert PeerReviewAlreadyDrawn(applicationId);
        if (block.timestamp > a.commitEnd) revert PeerReviewCommitClosed(applicationId, a.commitEnd);
        uint64 drawBlock = a.drawBlock;
        if (block.number <= drawBlock) revert PeerReviewDrawNotReady(applicationId, drawBlock);
        bytes32 hash = blockhash(drawBlock);
        if (hash == bytes32(0)) {
            a.drawBlock = uint64(block.number);
            emit DrawScheduled(applicationId, uint64(block.number));
            return false;
        }
        if (_draw(applicationId, a, keccak256(abi.encode(hash, applicationId)))) return true;
        a.status = NO_QUORUM;
        delete _openCase[a.subject][a.role];
        uint256 bond = a.bond;
        emit ApplicationFinalized(applicationId, NO_QUORUM, 0, 0, bond, 0);
        _med.safeTransfer(a.candidate, bond);
        return false;
    }

    // ------------------------------------------------------------------------------------------------------ voting

    /// @notice A drawn reviewer commits `keccak256(abi.encode(applicationId, reviewer, approve, salt))`.
    function commitVote(uint256 applicationId, bytes32 commitment) external {
        _commit(applicationId, msg.sender, commitment);
    }

    /// @notice Commits on `reviewer`'s EIP-712 `CommitVote` signature (relayed).
    function commitVoteBySig(
        uint256 applicationId,
        address reviewer,
        bytes32 commitment,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert PeerReviewExpiredSignature(deadline);
        bytes32 structHash = keccak256(
            abi.encode(_COMMIT_VOTE_TYPEHASH, applicationId, reviewer, commitment, _useNonce(reviewer), deadline)
        );
        _checkSignature(reviewer, structHash, signature);
        _commit(applicationId, reviewer, commitment);
    }

    /// @notice The caller reveals its committed vote.
    function revealVote(uint256 applicationId, bool approve, bytes32 salt) external {
        _reveal(applicationId, msg.sender, approve, salt);
    }

    /// @notice Reveals `reviewer`'s vote for it (a relayer): the commitment, bound to the reviewer, is the authority.
    function revealVoteFor(uint256 applicationId, address reviewer, bool approve, bytes32 salt) external {
        _reveal(applicationId, reviewer, approve, salt);
    }

    /**
     * @notice After the reveal window, anyone tallies, settles stakes and bond, and applies the decision: certifies
     * or renews an approved candidate, revokes the subject of an upheld challenge, reinstates a successful appellant.
     */
    function finalize(uint256 applicationId) external nonReentrant returns (uint8 status) {
        Application storage a = _pending(applicationId);
        if (block.timestamp <= a.revealEnd) revert PeerReviewRevealOpen(applicationId, a.revealEnd);
        uint8 approvals = a.approvals;
        uint8 rejections = a.rejections;
        if (uint256(approvals) + rejections < a.quorum) status = NO_QUORUM;
        else if (approvals > rejections) status = APPROVED;
        else status = REJECTED;
        a.status = status;
        address subject = a.subject;
        uint8 role = a.role;
        delete _openCase[subject][role];

        _settleReviewers(applicationId, a, status != NO_QUORUM && approvals != rejections, approvals > rejections);

        uint256 bond = a.bond;
        uint256 returned = bond;
        if (status == APPROVED) {
            if (a.kind == CHALLENGE) _revoke(subject, role);
            else _grant(a, subject, role);
        } else if (status == REJECTED) {
            returned = bond * a.bondReturnBps / _BPS;
        }
        emit ApplicationFinalized(applicationId, status, approvals, rejections, returned, bond - returned);
        address candidate = a.candidate;
        if (returned != 0) _med.safeTransfer(candidate, returned);
        if (bond != returned) _med.safeTransfer(_council.parameters().treasury, bond - returned);
    }

    // ------------------------------------------------------------------------------------------------------- views

    function applicationCount() external view returns (uint256) {
        return _applicationCount;
    }

    function applicationOf(uint256 applicationId) external view returns (Application memory) {
        Application memory a = _applications[applicationId];
        if (a.status == 0) revert PeerReviewUnknownApplication(applicationId);
        return a;
    }

    function reviewersOf(uint256 applicationId) external view returns (address[] memory reviewers) {
        Seat[] storage seats = _seats[applicationId];
        reviewers = new address[](seats.length);
        for (uint256 i = 0; i < seats.length; ++i) reviewers[i] = seats[i].reviewer;
    }

    /// @notice A reviewer's ballot: state (0 not drawn, DRAWN, COMMITTED, REVEALED), vote once revealed, commitment.
    function ballotOf(uint256 applicationId, address reviewer)
        external
        view
        returns (uint8 state, bool approve, bytes32 commitment)
    {
        Seat[] storage seats = _seats[applicationId];
        for (uint256 i = 0; i < seats.length; ++i) {
            if (seats[i].reviewer == reviewer) return (seats[i].state, seats[i].approve, seats[i].commitment);
        }
    }

    /// @notice The pending case about `subject`'s certification for `role`, or 0.
    function openCaseOf(address subject, uint8 role) external view returns (uint256) {
        return _openCase[subject][role];
    }

    /// @notice The appeal of case `applicationId`, or 0 if it was not appealed.
    function appealOf(uint256 applicationId) external view returns (uint256) {
        return _appeals[applicationId];
    }

    /// @notice The commitment a reviewer submits for `approve` with a secret `salt`.
    function voteCommitment(uint256 applicationId, address reviewer, bool approve, bytes32 salt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(applicationId, reviewer, approve, salt));
    }

    function council() external view returns (AuthorityCouncil) {
        return _council;
    }

    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------------------------------------------- internal

    function _apply(
        address candidate,
        uint8 role,
        bytes32 credentialHash,
        bytes32 evidencePointer,
        uint256 bond,
        uint256 deadline,
        bytes calldata signature
    ) private returns (uint256 applicationId) {
        if (block.timestamp > deadline) revert PeerReviewExpiredSignature(deadline);
        if (!_registry.isRegistered(candidate)) revert PeerReviewNotRegistered(candidate);
        _checkSignature(
            candidate, _applyStructHash(candidate, role, credentialHash, evidencePointer, bond, deadline), signature
        );
        (address issuer,, uint64 expiresAt, bool revoked) = _registry.certificationOf(candidate, role);
        bool renewal = issuer != address(0) && !revoked && block.timestamp <= uint256(expiresAt) + RENEWAL_GRACE;
        applicationId =
            _open(renewal ? RENEWAL : APPLY, candidate, candidate, role, credentialHash, evidencePointer, bond, 0);
    }

    function _applyStructHash(
        address candidate,
        uint8 role,
        bytes32 credentialHash,
        bytes32 evidencePointer,
        uint256 bond,
        uint256 deadline
    ) private returns (bytes32) {
        return keccak256(
            abi.encode(
                _APPLY_TYPEHASH, candidate, role, credentialHash, evidencePointer, bond, _useNonce(candidate), deadline
            )
        );
    }

    function _challengeStructHash(
        address challenger,
        address subject,
        uint8 role,
        bytes32 evidenceHash,
        uint256 bond,
        uint256 deadline
    ) private returns (bytes32) {
        return keccak256(
            abi.encode(
                _CHALLENGE_TYPEHASH, challenger, subject, role, evidenceHash, bond, _useNonce(challenger), deadline
            )
        );
    }

    function _challenge(address challenger, address subject, uint8 role, bytes32 evidenceHash, uint256 bond)
        private
        returns (uint256)
    {
        if (role != _provider && role != _researcher) revert PeerReviewInvalidRole(role);
        if (challenger == subject) revert PeerReviewSelfChallenge(challenger);
        if (!_registry.isCertified(challenger, _provider)) revert PeerReviewNotCertified(challenger, _provider);
        if (!_registry.isCertified(subject, role)) revert PeerReviewNotCertified(subject, role);
        (, bytes32 credentialHash,,) = _registry.certificationOf(subject, role);
        return _open(CHALLENGE, challenger, subject, role, credentialHash, evidenceHash, bond, 0);
    }

    function _appeal(uint256 previousId, address appellant) private returns (uint256 appealId) {
        Application storage prev = _appealable(previousId, appellant);
        uint256 bond = prev.bond;
        {
            uint256 minBond = _council.parameters().minBond;
            if (bond < minBond) bond = minBond;
        }
        appealId = _open(APPEAL, appellant, appellant, prev.role, prev.credentialHash, bytes32(0), bond, previousId);
        _appeals[previousId] = appealId;
    }

    /// @dev Only the loser of a decided case that is not itself an appeal, once.
    function _appealable(uint256 previousId, address appellant) private view returns (Application storage prev) {
        prev = _applications[previousId];
        uint8 status = prev.status;
        if (status == 0) revert PeerReviewUnknownApplication(previousId);
        uint256 earlier = _appeals[previousId];
        if (earlier != 0) revert PeerReviewAlreadyAppealed(previousId, earlier);
        uint8 kind = prev.kind;
        bool lost = kind == CHALLENGE ? status == APPROVED : status == REJECTED;
        if (!lost || kind == APPEAL || appellant != prev.subject) revert PeerReviewNotAppealable(previousId, appellant);
    }

    /// @dev Records a case under the current parameters and takes the bond; the draw comes later.
    function _open(
        uint8 kind,
        address candidate,
        address subject,
        uint8 role,
        bytes32 credentialHash,
        bytes32 evidencePointer,
        uint256 bond,
        uint256 previousId
    ) private returns (uint256 applicationId) {
        if (role != _provider && role != _researcher) revert PeerReviewInvalidRole(role);
        uint256 open = _openCase[subject][role];
        if (open != 0) revert PeerReviewCaseOpen(subject, role, open);
        AuthorityCouncil.Parameters memory p = _council.parameters();
        if (bond < p.minBond) revert PeerReviewBondTooLow(bond, p.minBond);
        uint256 stakers = _points.stakerCount();
        if (stakers < p.reviewSize) revert PeerReviewNotEnoughReviewers(stakers, p.reviewSize);

        applicationId = ++_applicationCount;
        _openCase[subject][role] = applicationId;
        Application storage a = _applications[applicationId];
        a.candidate = candidate;
        a.role = role;
        a.status = PENDING;
        a.quorum = p.quorum;
        a.slashBps = p.slashBps;
        a.bondReturnBps = p.bondReturnBps;
        uint64 commitEnd = uint64(block.timestamp) + p.commitWindow;
        a.commitEnd = commitEnd;
        a.revealEnd = commitEnd + p.revealWindow;
        a.certificationValidity = p.certificationValidity;
        a.bond = SafeCast.toUint128(bond);
        a.reviewerStake = p.reviewerStake;
        a.reviewReward = p.reviewReward;
        a.certificationReward = p.certificationReward;
        a.credentialHash = credentialHash;
        a.kind = kind;
        a.subject = subject;
        a.drawBlock = uint64(block.number);
        if (previousId != 0) a.appealOf = uint64(previousId);
        a.reviewSize = p.reviewSize;
        emit ApplicationSubmitted(
            applicationId, candidate, role, credentialHash, evidencePointer, bond, commitEnd, a.revealEnd
        );
        emit CaseOpened(applicationId, kind, subject, previousId, uint64(block.number));
        _med.safeTransferFrom(candidate, address(this), bond);
    }

    /// @dev Draws `reviewSize` seats; false (nothing locked) if the pool has too few eligible reviewers.
    function _draw(uint256 applicationId, Application storage a, bytes32 seed) private returns (bool) {
        uint256 size = a.reviewSize;
        Pick memory p = Pick({
            candidate: a.candidate,
            subject: a.subject,
            stake: a.reviewerStake,
            chosen: new address[](size),
            found: 0,
            excluded: a.kind == APPEAL ? _reviewersOf(a.appealOf) : new address[](0)
        });
        _pick(seed, p);
        // An appeal's panel avoids the first one only as far as the pool allows.
        if (p.found < size && p.excluded.length != 0) {
            p.excluded = new address[](0);
            _pick(seed, p);
        }
        if (p.found < size) return false;

        Seat[] storage seats = _seats[applicationId];
        for (uint256 i = 0; i < size; ++i) {
            address r = p.chosen[i];
            _points.lock(r, p.stake);
            seats.push(Seat({reviewer: r, state: DRAWN, approve: false, commitment: bytes32(0)}));
            emit ReviewerDrawn(applicationId, r);
        }
        return true;
    }

    /// @dev Random probes, then a bounded sweep from a random start, filling `p.chosen` from `p.found` on.
    function _pick(bytes32 seed, Pick memory p) private view {
        uint256 size = p.chosen.length;
        uint256 n = _points.stakerCount();
        if (n == 0) return;
        uint256 probes = size * _PROBES_PER_SEAT;
        for (uint256 k = 0; k < probes && p.found < size; ++k) {
            _consider(p, _points.stakerAt(uint256(keccak256(abi.encode(seed, k))) % n));
        }
        uint256 sweep = n < _MAX_SWEEP ? n : _MAX_SWEEP;
        uint256 start = uint256(seed) % n;
        for (uint256 k = 0; k < sweep && p.found < size; ++k) {
            _consider(p, _points.stakerAt((start + k) % n));
        }
    }

    /// @dev Seats `r` if eligible. Cheap checks first: not a party, not already chosen or excluded, enough unlocked
    /// stake, a certified provider.
    function _consider(Pick memory p, address r) private view {
        if (r == p.candidate || r == p.subject) return;
        for (uint256 i = 0; i < p.found; ++i) {
            if (p.chosen[i] == r) return;
        }
        for (uint256 i = 0; i < p.excluded.length; ++i) {
            if (p.excluded[i] == r) return;
        }
        if (_points.unlockedStakeOf(r) >= p.stake && _registry.isCertified(r, _provider)) p.chosen[p.found++] = r;
    }

    function _reviewersOf(uint256 applicationId) private view returns (address[] memory reviewers) {
        Seat[] storage seats = _seats[applicationId];
        reviewers = new address[](seats.length);
        for (uint256 i = 0; i < seats.length; ++i) reviewers[i] = seats[i].reviewer;
    }

    function _commit(uint256 applicationId, address reviewer, bytes32 commitment) private {
        Application storage a = _pending(applicationId);
        if (block.timestamp > a.commitEnd) revert PeerReviewCommitClosed(applicationId, a.commitEnd);
        if (commitment == bytes32(0)) revert PeerReviewInvalidCommitment();
        Seat storage seat = _seat(applicationId, reviewer);
        if (seat.state != DRAWN) revert PeerReviewAlreadyCommitted(applicationId, reviewer);
        seat.state = COMMITTED;
        seat.commitment = commitment;
        emit VoteCommitted(applicationId, reviewer, commitment);
    }

    function _reveal(uint256 applicationId, address reviewer, bool approve, bytes32 salt) private {
        Application storage a = _pending(applicationId);
        if (block.timestamp <= a.commitEnd || block.timestamp > a.revealEnd) {
            revert PeerReviewRevealNotOpen(applicationId, a.commitEnd, a.revealEnd);
        }
        Seat storage seat = _seat(applicationId, reviewer);
        if (seat.state != COMMITTED) revert PeerReviewNotCommitted(applicationId, reviewer);
        if (voteCommitment(applicationId, reviewer, approve, salt) != seat.commitment) {
            revert PeerReviewInvalidReveal(applicationId, reviewer);
        }
        seat.state = REVEALED;
        seat.approve = approve;
        if (approve) ++a.approvals;
        else ++a.rejections;
        emit VoteRevealed(applicationId, reviewer, approve);
    }

    /// @dev Unlocks every stake, then rewards the majority and slashes the minority (if there is a majority) and
    /// everyone who did not reveal.
    function _settleReviewers(uint256 applicationId, Application storage a, bool decided, bool majorityApproves)
        private
    {
        uint256 stake = a.reviewerStake;
        uint256 reward = a.reviewReward;
        uint256 slashAmount = stake * a.slashBps / _BPS;
        Seat[] storage seats = _seats[applicationId];
        for (uint256 i = 0; i < seats.length; ++i) {
            Seat storage seat = seats[i];
            address r = seat.reviewer;
            _points.unlock(r, stake);
            bool revealed = seat.state == REVEALED;
            if (revealed && !decided) continue;
            if (revealed && seat.approve == majorityApproves) {
                if (reward != 0) {
                    _points.mint(r, reward, _REVIEW_REWARD);
                    emit ReviewerRewarded(applicationId, r, reward);
                }
            } else if (slashAmount != 0) {
                // Another slasher may have burnt part of the stake meanwhile; never block the finalisation on it.
                uint256 staked = _points.stakedOf(r);
                uint256 amount = slashAmount < staked ? slashAmount : staked;
                if (amount == 0) continue;
                _points.slash(r, amount, revealed ? _MINORITY_SLASH : _NO_REVEAL_SLASH);
                emit ReviewerSlashed(applicationId, r, amount, revealed);
            }
        }
    }

    /**
     * @dev Certifies an approved case's subject. Expiry: a renewal (or the appeal of one) extends from the old expiry
     * while it lies ahead, and does nothing if the certification was revoked meanwhile (by an authority); an appeal of
     * a challenge reinstates a still revoked certification, with its old expiry while it lies ahead, and does nothing
     * if the subject was certified again meanwhile; otherwise the governed validity from now.
     */
    function _grant(Application storage a, address subject, uint8 role) private {
        uint8 kind = a.kind;
        if (kind == APPEAL) kind = _applications[a.appealOf].kind;
        (,, uint64 expiresAt, bool revoked) = _registry.certificationOf(subject, role);
        uint64 start = uint64(block.timestamp);
        uint64 expiry = start + a.certificationValidity;
        if (kind == RENEWAL) {
            if (revoked) return;
            if (expiresAt > start) expiry = expiresAt + a.certificationValidity;
        } else if (kind == CHALLENGE) {
            if (!revoked) return;
            if (expiresAt > start) expiry = expiresAt;
        }
        _registry.certify(subject, role, a.credentialHash, expiry);
        // A first certification only, once per account and role: renewals and reinstatements are not a way to farm.
        if (kind == APPLY && a.certificationReward != 0 && !_rewarded[subject][role]) {
            _rewarded[subject][role] = true;
            _points.mint(subject, a.certificationReward, _CERTIFICATION_REWARD);
        }
    }

    /// @dev Revokes an upheld challenge's subject, unless an authority already did.
    function _revoke(address subject, uint8 role) private {
        (address issuer,,, bool revoked) = _registry.certificationOf(subject, role);
        if (issuer != address(0) && !revoked) _registry.revokeCertification(subject, role);
    }

    function _pending(uint256 applicationId) private view returns (Application storage a) {
        a = _applications[applicationId];
        uint8 status = a.status;
        if (status == 0) revert PeerReviewUnknownApplication(applicationId);
        if (status != PENDING) revert PeerReviewNotPending(applicationId, status);
    }

    function _seat(uint256 applicationId, address reviewer) private view returns (Seat storage) {
        Seat[] storage seats = _seats[applicationId];
        for (uint256 i = 0; i < seats.length; ++i) {
            if (seats[i].reviewer == reviewer) return seats[i];
        }
        revert PeerReviewNotReviewer(applicationId, reviewer);
    }

    function _checkSignature(address signer, bytes32 structHash, bytes calldata signature) private view {
        bytes32 digest = _hashTypedDataV4(structHash);
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == signer) return;
        if (signer.code.length == 0 || !SignatureChecker.isValidERC1271SignatureNowCalldata(signer, digest, signature)) {
            revert PeerReviewInvalidSignature(signer);
        }
    }
}
