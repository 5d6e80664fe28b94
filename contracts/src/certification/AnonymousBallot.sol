// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ISemaphore} from "@semaphore-protocol/contracts/interfaces/ISemaphore.sol";
import {ISemaphoreVerifier} from "@semaphore-protocol/contracts/interfaces/ISemaphoreVerifier.sol";
import {MAX_DEPTH, MIN_DEPTH} from "@semaphore-protocol/contracts/base/Constants.sol";
import {InternalLeanIMT, LeanIMTData} from "@zk-kit/lean-imt.sol/InternalLeanIMT.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {PeerReview} from "./PeerReview.sol";

/**
 * @title AnonymousBallot
 * @notice Anonymous peer-review ballots with Semaphore v4 group-membership proofs: the reviewers drawn for a
 * PeerReview case vote so that no ballot links to a reviewer, not even after the tally.
 *
 * Flow, on the windows of the PeerReview case (fixed when it was opened):
 * - Join (until `commitEnd`): each drawn reviewer adds its own Semaphore identity commitment to the case's group,
 *   sending `join` from its account (or signing `JoinBallot` for a relayer, `joinBySig`). Only the case's drawn panel can join, each reviewer once (and each commitment
 *   once), so the group is exactly the panel members who joined. Joining is public and attributable by design.
 * - Vote (after `commitEnd`, until `revealEnd`): a ballot is a Semaphore proof that its sender knows the secret of one
 *   of the group's commitments, with message = the vote (`REJECT` 0 or `APPROVE` 1) and scope = the case id. Anyone
 *   submits it (the node's relayer, any account): the contract checks the proof against the group's final root with
 *   Semaphore's Groth16 verifier and records the nullifier, Poseidon(scope, secret), which is the same for every proof
 *   an identity makes for that case, so each member votes at most once, and a proof made for another case (another
 *   scope) counts nowhere else. `BallotCast` carries the nullifier and the vote, never an address.
 * - Outcome (after `revealEnd`): `outcome` applies PeerReview's rules to the anonymous tally: fewer than `quorum`
 *   ballots is NO_QUORUM, more approvals than rejections APPROVED, anything else (a tie included) REJECTED.
 *
 * Why no ballot links to an account: the proof is zero-knowledge (it shows membership of the group, not which
 * member); the group is frozen before voting opens (joining closes at `commitEnd`, and a proof must be made against
 * the group's final root), so every ballot's anonymity set is the whole joined panel and an early voter cannot be
 * singled out from a smaller, earlier group; the transaction is sent by whoever relays it. A reviewer who sends its own
 * ballot from its own account gives its anonymity away: ballots are meant to go through a relayer. Groups of one or
 * two members are not anonymous in any useful sense (with two, each member knows the other's vote).
 *
 * Accountability, preserved: only drawn reviewers join, each once, by their own account (`hasJoined`), so a drawn
 * reviewer who never joined is identified by name; each member casts at most one ballot per case; the number of
 * members, the number of ballots and the tally are public, so turnout (members minus ballots) is public.
 * Given up: which way a given reviewer voted, hence per-reviewer majority rewards and minority slashes; and which
 * joined member did not vote (only how many did not). Settlement of reviewers therefore becomes collective for the
 * joined members (e.g. the review reward to every member only when every member voted, else none, or a slash shared
 * by all members for each missing ballot), while non-joiners can still be slashed one by one, as PeerReview slashes
 * non-revealers. A member can still prove its vote to a third party by disclosing its identity secret (no receipt
 * freeness), as a reviewer can disclose its salt under commit-reveal.
 *
 * This contract tallies; it does not settle. PeerReview's `finalize` still decides a case from its own commit-reveal
 * ballots. Plugging the anonymous tally in means a case flag chosen at opening under which `finalize` reads `outcome`
 * here instead of its own seats and settles reviewers collectively as above; see contracts/README.md.
 *
 * Semaphore pieces used as they are: the Lean incremental Merkle tree (`InternalLeanIMT`, hashing with the
 * `PoseidonT3` library, linked at deployment) and the Groth16 `SemaphoreVerifier` (deployed once, any depth 1-32).
 * The group is kept here rather than in the shared `Semaphore` contract because `Semaphore.validateProof` is open to
 * anyone: a copied ballot could be spent there first, burning its nullifier without counting the vote.
 */
contract AnonymousBallot is EIP712, Nonces {
    using InternalLeanIMT for LeanIMTData;

    bytes32 private constant _JOIN_TYPEHASH = keccak256(
        "JoinBallot(uint256 caseId,address reviewer,uint256 identityCommitment,uint256 nonce,uint256 deadline)"
    );

    uint256 public constant REJECT = 0;
    uint256 public constant APPROVE = 1;

    /// @dev PeerReview's case statuses (PeerReview.PENDING ... NO_QUORUM).
    uint8 private constant _PENDING = 1;
    uint8 private constant _APPROVED = 2;
    uint8 private constant _REJECTED = 3;
    uint8 private constant _NO_QUORUM = 4;

    /// @dev Members who joined and ballots counted, per case.
    struct Tally {
        uint8 members;
        uint8 approvals;
        uint8 rejections;
    }

    PeerReview private immutable _review;
    ISemaphoreVerifier private immutable _verifier;

    mapping(uint256 caseId => LeanIMTData) private _groups;
    mapping(uint256 caseId => Tally) private _tallies;
    mapping(uint256 caseId => mapping(address reviewer => bool)) private _joined;
    mapping(uint256 caseId => mapping(uint256 nullifier => bool)) private _nullifiers;

    /// @notice A drawn reviewer added its identity commitment to the case's group (public by design).
    event MemberJoined(
        uint256 indexed caseId, address indexed reviewer, uint256 identityCommitment, uint256 merkleTreeRoot
    );
    /// @notice An anonymous ballot was counted. No address: the nullifier only shows the same member did not vote twice.
    event BallotCast(uint256 indexed caseId, uint256 nullifier, bool approve);

    error AnonymousBallotNotPending(uint256 caseId, uint8 status);
    error AnonymousBallotNotReviewer(uint256 caseId, address account);
    error AnonymousBallotAlreadyJoined(uint256 caseId, address reviewer);
    error AnonymousBallotJoinClosed(uint256 caseId, uint64 commitEnd);
    error AnonymousBallotVotingNotOpen(uint256 caseId, uint64 commitEnd, uint64 revealEnd);
    error AnonymousBallotWrongScope(uint256 caseId, uint256 scope);
    error AnonymousBallotInvalidVote(uint256 message);
    error AnonymousBallotUnknownRoot(uint256 caseId, uint256 merkleTreeRoot);
    error AnonymousBallotUnsupportedDepth(uint256 merkleTreeDepth);
    error AnonymousBallotNullifierUsed(uint256 caseId, uint256 nullifier);
    error AnonymousBallotInvalidProof(uint256 caseId);
    error AnonymousBallotExpiredSignature(uint256 deadline);
    error AnonymousBallotInvalidSignature(address signer);

    constructor(PeerReview review_, ISemaphoreVerifier verifier_) EIP712("MedBloc", "1") {
        _review = review_;
        _verifier = verifier_;
    }

    /**
     * @notice Adds the sender's Semaphore identity commitment to `caseId`'s group. The sender must be one of the
     * case's drawn reviewers, not yet joined, while the case is pending and its commit window open.
     */
    function join(uint256 caseId, uint256 identityCommitment) external {
        _join(caseId, msg.sender, identityCommitment);
    }

    /**
     * @notice `join` relayed for `reviewer` on its EIP-712 `JoinBallot(uint256 caseId,address reviewer,uint256
     * identityCommitment,uint256 nonce,uint256 deadline)` signature (ERC-1271 for contract accounts).
     */
    function joinBySig(
        uint256 caseId,
        address reviewer,
        uint256 identityCommitment,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert AnonymousBallotExpiredSignature(deadline);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(_JOIN_TYPEHASH, caseId, reviewer, identityCommitment, _useNonce(reviewer), deadline))
        );
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        bool valid = err == ECDSA.RecoverError.NoError && recovered == reviewer;
        if (!valid && !(reviewer.code.length != 0
                    && SignatureChecker.isValidERC1271SignatureNowCalldata(reviewer, digest, signature))) {
            revert AnonymousBallotInvalidSignature(reviewer);
        }
        _join(caseId, reviewer, identityCommitment);
    }

    /**
     * @notice Counts an anonymous ballot on `caseId`: a Semaphore proof of membership of the case's group with
     * message `REJECT` or `APPROVE` and scope `caseId`, made against the group's final root. Anyone may submit it.
     */
    function castBallot(uint256 caseId, ISemaphore.SemaphoreProof calldata proof) external {
        PeerReview.Application memory a = _pendingCase(caseId);
        if (block.timestamp <= a.commitEnd || block.timestamp > a.revealEnd) {
            revert AnonymousBallotVotingNotOpen(caseId, a.commitEnd, a.revealEnd);
        }
        if (proof.scope != caseId) revert AnonymousBallotWrongScope(caseId, proof.scope);
        if (proof.message > APPROVE) revert AnonymousBallotInvalidVote(proof.message);
        if (proof.merkleTreeDepth < MIN_DEPTH || proof.merkleTreeDepth > MAX_DEPTH) {
            revert AnonymousBallotUnsupportedDepth(proof.merkleTreeDepth);
        }
        LeanIMTData storage group = _groups[caseId];
        if (group.size == 0 || proof.merkleTreeRoot != group._root()) {
            revert AnonymousBallotUnknownRoot(caseId, proof.merkleTreeRoot);
        }
        if (_nullifiers[caseId][proof.nullifier]) revert AnonymousBallotNullifierUsed(caseId, proof.nullifier);
        bool valid = _verifier.verifyProof(
            [proof.points[0], proof.points[1]],
            [[proof.points[2], proof.points[3]], [proof.points[4], proof.points[5]]],
            [proof.points[6], proof.points[7]],
            [proof.merkleTreeRoot, proof.nullifier, _hash(proof.message), _hash(proof.scope)],
            proof.merkleTreeDepth
        );
        if (!valid) revert AnonymousBallotInvalidProof(caseId);

        _nullifiers[caseId][proof.nullifier] = true;
        Tally storage t = _tallies[caseId];
        bool approve = proof.message == APPROVE;
        if (approve) ++t.approvals;
        else ++t.rejections;
        emit BallotCast(caseId, proof.nullifier, approve);
    }

    // ------------------------------------------------------------------------------------------------------ views

    /**
     * @notice The anonymous tally of `caseId` and what it decides under PeerReview's rules: PENDING (1) until the
     * voting window is over, then NO_QUORUM (4) below the case's quorum, APPROVED (2) on a majority of approvals,
     * REJECTED (3) otherwise (a tie keeps the status quo, as in PeerReview).
     */
    function outcome(uint256 caseId)
        external
        view
        returns (uint8 status, uint8 approvals, uint8 rejections, uint8 members)
    {
        PeerReview.Application memory a = _review.applicationOf(caseId);
        Tally memory t = _tallies[caseId];
        (approvals, rejections, members) = (t.approvals, t.rejections, t.members);
        if (block.timestamp <= a.revealEnd && a.status == _PENDING) status = _PENDING;
        else if (uint256(approvals) + rejections < a.quorum) status = _NO_QUORUM;
        else if (approvals > rejections) status = _APPROVED;
        else status = _REJECTED;
    }

    function hasJoined(uint256 caseId, address reviewer) external view returns (bool) {
        return _joined[caseId][reviewer];
    }

    function isNullifierUsed(uint256 caseId, uint256 nullifier) external view returns (bool) {
        return _nullifiers[caseId][nullifier];
    }

    /// @notice The case's group as a Semaphore client rebuilds it: its root, depth and size (members joined).
    function groupOf(uint256 caseId) external view returns (uint256 merkleTreeRoot, uint256 depth, uint256 size) {
        LeanIMTData storage group = _groups[caseId];
        return (group._root(), group.depth, group.size);
    }

    function peerReview() external view returns (PeerReview) {
        return _review;
    }

    function verifier() external view returns (ISemaphoreVerifier) {
        return _verifier;
    }

    // --------------------------------------------------------------------------------------------------- internal

    function _join(uint256 caseId, address reviewer, uint256 identityCommitment) private {
        PeerReview.Application memory a = _pendingCase(caseId);
        if (block.timestamp > a.commitEnd) revert AnonymousBallotJoinClosed(caseId, a.commitEnd);
        if (!_isReviewer(caseId, reviewer)) revert AnonymousBallotNotReviewer(caseId, reviewer);
        if (_joined[caseId][reviewer]) revert AnonymousBallotAlreadyJoined(caseId, reviewer);
        _joined[caseId][reviewer] = true;
        ++_tallies[caseId].members;
        // Refuses a zero, out-of-field or already present commitment (LeafCannotBeZero, ..., LeafAlreadyExists).
        uint256 root = _groups[caseId]._insert(identityCommitment);
        emit MemberJoined(caseId, reviewer, identityCommitment, root);
    }

    function _pendingCase(uint256 caseId) private view returns (PeerReview.Application memory a) {
        a = _review.applicationOf(caseId); // reverts PeerReviewUnknownApplication for an unknown case
        if (a.status != _PENDING) revert AnonymousBallotNotPending(caseId, a.status);
    }

    function _isReviewer(uint256 caseId, address account) private view returns (bool) {
        address[] memory reviewers = _review.reviewersOf(caseId);
        for (uint256 i = 0; i < reviewers.length; ++i) {
            if (reviewers[i] == account) return true;
        }
        return false;
    }

    /// @dev Semaphore's hash of a message or scope into the SNARK field (as in Semaphore.sol).
    function _hash(uint256 value) private pure returns (uint256) {
        return uint256(keccak256(abi.encodePacked(value))) >> 8;
    }
}
