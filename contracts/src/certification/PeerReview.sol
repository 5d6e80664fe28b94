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
import {AccountRegistry} from "../AccountRegistry.sol";
import {AuthorityCouncil} from "./AuthorityCouncil.sol";
import {MPPoints} from "./MPPoints.sol";

/**
 * @title PeerReview
 * @notice Certification by peers: a candidate bonds MED and applies; staked, certified providers are drawn to review
 * the case and vote by sealed ballot (commit, then reveal); the majority of revealed votes decides.
 *
 * Flow: `applyBySig` (the candidate's EIP-712 `ApplyForCertification`, relayable) takes the bond and draws
 * `reviewSize` reviewers, locking `reviewerStake` MP of each. During the commit window each drawn reviewer commits
 * `keccak256(abi.encode(applicationId, reviewer, approve, salt))`; during the reveal window they reveal. After it,
 * `finalize` (anyone) tallies: with fewer than `quorum` revealed votes nothing is decided and the bond is refunded;
 * otherwise approvals > rejections certifies the candidate through AccountRegistry's CERTIFIER_ROLE (and mints the
 * certification reward, once per account and role), anything else rejects and forfeits the bond but `bondReturnBps`. Majority voters are minted
 * `reviewReward` MP; minority voters and drawn reviewers who did not reveal lose `slashBps` of their locked stake.
 * Parameters come from AuthorityCouncil and are fixed per application when it is submitted.
 *
 * Ballots are secret until the reveal window: a commitment hides the vote, and reviewers cannot see each other's.
 * Revealed votes are public (rewards and slashes depend on them); unlinkable votes would need an anonymous-voting
 * scheme (e.g. Semaphore), not done here.
 *
 * Drawing is pseudorandom, not unpredictable: the seed is the previous block hash, `prevrandao`, the application id
 * and the candidate, all known when the application is submitted. A candidate (or relayer) may choose the block it
 * submits in, and a block producer can bias `prevrandao` by withholding blocks; on a dev chain (anvil) or a
 * sequencer-run L2 the producer knows the seed outright. The pool's size and the bond are what make grinding costly.
 * Where that matters, a later version should draw from a future block hash or a VRF in a second step.
 * Gas of a draw is bounded: 4 random probes per seat, then a sweep of at most 256 pool positions. It depends on the
 * seed, so an estimate made on one block may fall short on the next: relayers should add a margin (25% is ample).
 */
contract PeerReview is EIP712, Nonces {
    using SafeERC20 for IERC20;

    uint8 public constant PENDING = 1;
    uint8 public constant APPROVED = 2;
    uint8 public constant REJECTED = 3;
    uint8 public constant NO_QUORUM = 4;

    uint8 public constant DRAWN = 1;
    uint8 public constant COMMITTED = 2;
    uint8 public constant REVEALED = 3;

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

    /// @dev The parameters an application was submitted under, packed into three slots beside the credential.
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
    }

    /// @dev A drawn reviewer's place: who, how far they got, their vote once revealed, their commitment.
    struct Seat {
        address reviewer;
        uint8 state;
        bool approve;
        bytes32 commitment;
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
     * @notice Submits `candidate`'s application on its EIP-712 `ApplyForCertification` signature, takes `bond` MED
     * from it (allowance needed) and draws the reviewers. Returns the application id (from 1).
     */
    function applyBySig(
        address candidate,
        uint8 role,
        bytes32 credentialHash,
        bytes32 evidencePointer,
        uint256 bond,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256) {
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
    ) external returns (uint256) {
        // A permit front-run by someone else has still set the allowance: tolerate its failure here.
        try IERC20Permit(address(_med)).permit(
            candidate, address(this), bond, permit.deadline, permit.v, permit.r, permit.s
        ) {} catch {}
        return _apply(candidate, role, credentialHash, evidencePointer, bond, deadline, signature);
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

    /// @notice After the reveal window, anyone tallies, settles stakes and bond, and certifies an approved candidate.
    function finalize(uint256 applicationId) external returns (uint8 status) {
        Application storage a = _pending(applicationId);
        if (block.timestamp <= a.revealEnd) revert PeerReviewRevealOpen(applicationId, a.revealEnd);
        uint8 approvals = a.approvals;
        uint8 rejections = a.rejections;
        if (uint256(approvals) + rejections < a.quorum) status = NO_QUORUM;
        else if (approvals > rejections) status = APPROVED;
        else status = REJECTED;
        a.status = status;

        _settleReviewers(applicationId, a, status != NO_QUORUM && approvals != rejections, approvals > rejections);

        address candidate = a.candidate;
        uint256 bond = a.bond;
        uint256 returned = bond;
        if (status == APPROVED) {
            _registry.certify(
                candidate, a.role, a.credentialHash, uint64(block.timestamp) + a.certificationValidity
            );
            // Once per account and role: renewals are not a way to farm points.
            if (a.certificationReward != 0 && !_rewarded[candidate][a.role]) {
                _rewarded[candidate][a.role] = true;
                _points.mint(candidate, a.certificationReward, _CERTIFICATION_REWARD);
            }
        } else if (status == REJECTED) {
            returned = bond * a.bondReturnBps / _BPS;
        }
        emit ApplicationFinalized(applicationId, status, approvals, rejections, returned, bond - returned);
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
        if (role != _provider && role != _researcher) revert PeerReviewInvalidRole(role);
        if (!_registry.isRegistered(candidate)) revert PeerReviewNotRegistered(candidate);
        AuthorityCouncil.Parameters memory p = _council.parameters();
        if (bond < p.minBond) revert PeerReviewBondTooLow(bond, p.minBond);
        _checkSignature(
            candidate, _applyStructHash(candidate, role, credentialHash, evidencePointer, bond, deadline), signature
        );

        applicationId = ++_applicationCount;
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
        emit ApplicationSubmitted(
            applicationId, candidate, role, credentialHash, evidencePointer, bond, commitEnd, a.revealEnd
        );
        _draw(applicationId, candidate, p.reviewSize, p.reviewerStake);
        _med.safeTransferFrom(candidate, address(this), bond);
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

    function _draw(uint256 applicationId, address candidate, uint256 size, uint256 stake) private {
        uint256 n = _points.stakerCount();
        if (n < size) revert PeerReviewNotEnoughReviewers(0, size);
        bytes32 seed = keccak256(abi.encode(blockhash(block.number - 1), block.prevrandao, applicationId, candidate));
        address[] memory chosen = new address[](size);
        uint256 found;
        uint256 probes = size * _PROBES_PER_SEAT;
        for (uint256 k = 0; k < probes && found < size; ++k) {
            address r = _points.stakerAt(uint256(keccak256(abi.encode(seed, k))) % n);
            if (_eligible(r, candidate, stake, chosen, found)) chosen[found++] = r;
        }
        uint256 sweep = n < _MAX_SWEEP ? n : _MAX_SWEEP;
        uint256 start = uint256(seed) % n;
        for (uint256 k = 0; k < sweep && found < size; ++k) {
            address r = _points.stakerAt((start + k) % n);
            if (_eligible(r, candidate, stake, chosen, found)) chosen[found++] = r;
        }
        if (found < size) revert PeerReviewNotEnoughReviewers(found, size);

        Seat[] storage seats = _seats[applicationId];
        for (uint256 i = 0; i < size; ++i) {
            address r = chosen[i];
            _points.lock(r, stake);
            seats.push(Seat({reviewer: r, state: DRAWN, approve: false, commitment: bytes32(0)}));
            emit ReviewerDrawn(applicationId, r);
        }
    }

    /// @dev Cheap checks first: not the candidate, not already chosen, enough unlocked stake, a certified provider.
    function _eligible(address r, address candidate, uint256 stake, address[] memory chosen, uint256 found)
        private
        view
        returns (bool)
    {
        if (r == candidate) return false;
        for (uint256 i = 0; i < found; ++i) {
            if (chosen[i] == r) return false;
        }
        return _points.unlockedStakeOf(r) >= stake && _registry.isCertified(r, _provider);
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
