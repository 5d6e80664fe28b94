// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {AccountRegistry} from "./AccountRegistry.sol";
import {IDelegation} from "./consent/IDelegation.sol";

/**
 * @title RecordRegistry
 * @notice Append-only anchors of encrypted medical records: who owns a record, who created it, the digest of its
 * ciphertext, a commitment to its data key and the record it corrects. No medical content is ever written here.
 *
 * A record is anchored alone (`anchorBySig`, one record per transaction) or in bulk as a Merkle root over many
 * anchors (`anchorBatchBySig`), whose members are proven with `verifyBatched`. Both are authorised by the creator's
 * EIP-712 signature (typed data in the core package, eip712.ts) and may be relayed by anyone. Identity and leaves
 * follow anchor.ts in the core package:
 *   recordId = keccak256(abi.encode(owner, creator, digest))
 *   leaf     = keccak256(bytes.concat(keccak256(abi.encode(owner, creator, digest, keyCommitment, supersedes))))
 * Only the owner, a provider certified at anchoring time, or a delegate of the owner at anchoring time (a guardian or
 * carer appointed in Delegation, once the admin of the AccountRegistry has set it here) may create a record for an owner.
 */
contract RecordRegistry is EIP712, Nonces {
    uint8 private constant _PROVIDER = 2;
    /// @dev DEFAULT_ADMIN_ROLE of the AccountRegistry, whose admins govern this registry's one setting.
    bytes32 private constant _ADMIN_ROLE = 0x00;

    bytes32 private constant _ANCHOR_RECORD_TYPEHASH = keccak256(
        "AnchorRecord(address owner,address creator,bytes32 digest,bytes32 keyCommitment,bytes32 supersedes,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant _ANCHOR_BATCH_TYPEHASH = keccak256(
        "AnchorBatch(address creator,bytes32 root,uint32 count,bytes32 manifest,uint256 nonce,uint256 deadline)"
    );

    /// @dev owner and anchoredAt share a slot; `supersedes` is written only when non-zero.
    struct Anchor {
        address owner;
        uint64 anchoredAt;
        address creator;
        bytes32 digest;
        bytes32 keyCommitment;
        bytes32 supersedes;
    }

    /// @dev One slot: (creator, count, anchoredAt, creatorCertified); uint48 seconds last ~8.9M years. The manifest
    /// digest is signed and emitted in BatchAnchored but not stored: indexers read it from the event, and one slot
    /// fewer keeps a creator's first batch under 1,000 gas per record.
    struct Batch {
        address creator;
        uint32 count;
        uint48 anchoredAt;
        bool creatorCertified;
    }

    AccountRegistry private immutable _accounts;
    mapping(bytes32 recordId => Anchor) private _anchors;
    mapping(bytes32 root => Batch) private _batches;
    IDelegation private _delegation;

    event RecordAnchored(
        bytes32 indexed recordId,
        address indexed owner,
        address indexed creator,
        bytes32 digest,
        bytes32 keyCommitment,
        bytes32 supersedes
    );
    event BatchAnchored(bytes32 indexed root, address indexed creator, uint32 count, bytes32 manifest);
    event DelegationSet(address indexed delegation);

    error RecordRegistryExpiredSignature(uint256 deadline);
    error RecordRegistryInvalidSignature(address signer);
    error RecordRegistryOwnerNotRegistered(address owner);
    error RecordRegistryCreatorNotRegistered(address creator);
    error RecordRegistryCreatorNotCertified(address creator);
    error RecordRegistryRecordExists(bytes32 recordId);
    error RecordRegistrySupersedesOtherOwner(bytes32 supersedes, address owner);
    error RecordRegistrySupersedesItself(bytes32 recordId);
    error RecordRegistryBatchExists(bytes32 root);
    error RecordRegistryEmptyBatch();
    error RecordRegistryUnauthorizedAccount(address account);
    error RecordRegistryDelegationAlreadySet(address delegation);

    constructor(AccountRegistry accounts) EIP712("MedBloc", "1") {
        _accounts = accounts;
    }

    // ---------------------------------------------------------------------------------------------------------- writes

    /**
     * @notice Anchors one record on the EIP-712 `AnchorRecord` signature of `creator`.
     * @dev `supersedes`, when non-zero and anchored here, must belong to the same owner. A non-zero id that is not
     * anchored here is accepted: it may be a batched record, whose membership the contract cannot check without its
     * proof. Readers must check such a link off chain (the node does, against the batch's proof).
     */
    function anchorBySig(
        address owner,
        address creator,
        bytes32 digest,
        bytes32 keyCommitment,
        bytes32 supersedes,
        uint256 deadline,
        bytes calldata signature
    ) external {
        _checkDeadline(deadline);
        bytes32 recordId = keccak256(abi.encode(owner, creator, digest));
        if (_anchors[recordId].owner != address(0)) revert RecordRegistryRecordExists(recordId);
        if (!_accounts.isRegistered(owner)) revert RecordRegistryOwnerNotRegistered(owner);
        if (owner != creator && !_accounts.isCertified(creator, _PROVIDER) && !_isDelegate(owner, creator)) {
            revert RecordRegistryCreatorNotCertified(creator);
        }
        if (supersedes != bytes32(0)) {
            if (supersedes == recordId) revert RecordRegistrySupersedesItself(recordId);
            address previousOwner = _anchors[supersedes].owner;
            if (previousOwner != address(0) && previousOwner != owner) {
                revert RecordRegistrySupersedesOtherOwner(supersedes, owner);
            }
        }
        bytes32 structHash = keccak256(
            abi.encode(
                _ANCHOR_RECORD_TYPEHASH, owner, creator, digest, keyCommitment, supersedes, _useNonce(creator), deadline
            )
        );
        _checkSignature(creator, structHash, signature);

        Anchor storage a = _anchors[recordId];
        a.owner = owner;
        a.anchoredAt = uint64(block.timestamp);
        a.creator = creator;
        a.digest = digest;
        a.keyCommitment = keyCommitment;
        if (supersedes != bytes32(0)) a.supersedes = supersedes;
        emit RecordAnchored(recordId, owner, creator, digest, keyCommitment, supersedes);
    }

    /**
     * @notice Anchors a Merkle root over `count` record anchors on the EIP-712 `AnchorBatch` signature of `creator`.
     * @dev Leaves are not checked here (only their root is on chain); whether the creator was a certified provider
     * at this moment is recorded, and `verifyBatched` accepts a leaf for another owner only if so. `manifest` is the
     * digest of the off-chain list of leaves, so any node can find and index the batch's records.
     */
    function anchorBatchBySig(
        address creator,
        bytes32 root,
        uint32 count,
        bytes32 manifest,
        uint256 deadline,
        bytes calldata signature
    ) external {
        _checkDeadline(deadline);
        if (count == 0) revert RecordRegistryEmptyBatch();
        if (_batches[root].creator != address(0)) revert RecordRegistryBatchExists(root);
        // Certification implies registration (only registered accounts are certified; accounts are never removed),
        // so a certified creator costs one registry call.
        bool creatorCertified = _accounts.isCertified(creator, _PROVIDER);
        if (!creatorCertified && !_accounts.isRegistered(creator)) revert RecordRegistryCreatorNotRegistered(creator);
        bytes32 structHash =
            keccak256(abi.encode(_ANCHOR_BATCH_TYPEHASH, creator, root, count, manifest, _useNonce(creator), deadline));
        _checkSignature(creator, structHash, signature);

        _batches[root] = Batch({
            creator: creator,
            count: count,
            anchoredAt: uint48(block.timestamp),
            creatorCertified: creatorCertified
        });
        emit BatchAnchored(root, creator, count, manifest);
    }

    /**
     * @notice Sets, once, the Delegation contract whose delegates may create records for the patients they act for.
     * Only an admin (DEFAULT_ADMIN_ROLE) of the AccountRegistry may call it; until then only owners and certified
     * providers create records.
     */
    function setDelegation(IDelegation delegation_) external {
        if (!_accounts.hasRole(_ADMIN_ROLE, msg.sender)) revert RecordRegistryUnauthorizedAccount(msg.sender);
        if (address(_delegation) != address(0)) revert RecordRegistryDelegationAlreadySet(address(_delegation));
        _delegation = delegation_;
        emit DelegationSet(address(delegation_));
    }

    // ----------------------------------------------------------------------------------------------------------- views

    /**
     * @notice Whether the anchor (owner, creator, digest, keyCommitment, supersedes) is a member of batch `root`,
     * anchored by `creator`, who was allowed to create it: the owner itself, a provider certified at batch time, or
     * a delegate of the owner at batch time (under the delegate's latest appointment, see Delegation.wasDelegateAt).
     */
    function verifyBatched(
        bytes32 root,
        address owner,
        address creator,
        bytes32 digest,
        bytes32 keyCommitment,
        bytes32 supersedes,
        bytes32[] calldata proof
    ) external view returns (bool) {
        Batch storage b = _batches[root];
        if (b.creator == address(0) || b.creator != creator) return false;
        if (owner != creator && !b.creatorCertified && !_wasDelegateAt(owner, creator, b.anchoredAt)) return false;
        bytes32 leaf =
            keccak256(bytes.concat(keccak256(abi.encode(owner, creator, digest, keyCommitment, supersedes))));
        return MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @notice The anchor of a singly anchored record (all zero if none).
    function anchorOf(bytes32 recordId) external view returns (Anchor memory) {
        return _anchors[recordId];
    }

    /// @notice A batch by its root (all zero if none).
    function batchOf(bytes32 root) external view returns (Batch memory) {
        return _batches[root];
    }

    /// @notice Whether a record was anchored singly under `recordId` (batched records are proven with verifyBatched).
    function exists(bytes32 recordId) external view returns (bool) {
        return _anchors[recordId].owner != address(0);
    }

    /// @notice The Delegation contract consulted for delegates (zero until set).
    function delegation() external view returns (IDelegation) {
        return _delegation;
    }

    /// @notice The AccountRegistry this registry consults for registration and certification.
    function accountRegistry() external view returns (AccountRegistry) {
        return _accounts;
    }

    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // -------------------------------------------------------------------------------------------------------- internal

    function _isDelegate(address owner, address account) private view returns (bool) {
        IDelegation d = _delegation;
        return address(d) != address(0) && d.isDelegate(owner, account);
    }

    function _wasDelegateAt(address owner, address account, uint256 timestamp) private view returns (bool) {
        IDelegation d = _delegation;
        return address(d) != address(0) && d.wasDelegateAt(owner, account, timestamp);
    }

    function _checkDeadline(uint256 deadline) private view {
        if (block.timestamp > deadline) revert RecordRegistryExpiredSignature(deadline);
    }

    /**
     * @dev ECDSA first, then ERC-1271 for accounts with code (smart accounts). Unlike SignatureChecker, which asks for
     * the signer's code first, this spares EOAs a cold account access (2,600 gas) on every relayed call.
     */
    function _checkSignature(address signer, bytes32 structHash, bytes calldata signature) private view {
        bytes32 digest = _hashTypedDataV4(structHash);
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == signer) return;
        if (signer.code.length == 0 || !SignatureChecker.isValidERC1271SignatureNowCalldata(signer, digest, signature)) {
            revert RecordRegistryInvalidSignature(signer);
        }
    }
}
