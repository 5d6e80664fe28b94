// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {IDelegation} from "./IDelegation.sol";
import {TypedSignatures} from "./TypedSignatures.sol";

/**
 * @title Delegation
 * @notice Delegates who act for a patient (a guardian of a child, a carer), the patient's minor flag, and the
 * social-recovery seam: a commitment to the patient's recovery guardians and their threshold.
 *
 * Every change is authorised by an EIP-712 signature (typed data in the core package, eip712.ts) and may be relayed by
 * anyone. The patient appoints and revokes delegates; while a patient is flagged minor, a current guardian may also
 * revoke the patient's carers. A delegate acts for the patient in the consent and record contracts, which ask
 * `isDelegate`. Recovery shares never come on chain: only `guardiansHash`, a salted hash of the guardian set (see
 * `guardianSetHash` in the core package), and the number of guardians needed to recover.
 */
contract Delegation is IDelegation, TypedSignatures, Nonces {
    uint8 public constant GUARDIAN = 1;
    uint8 public constant CARER = 2;

    bytes32 private constant _APPOINT_DELEGATE_TYPEHASH = keccak256(
        "AppointDelegate(address patient,address delegate,uint8 kind,uint64 expiresAt,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant _REVOKE_DELEGATE_TYPEHASH =
        keccak256("RevokeDelegate(address patient,address delegate,uint256 nonce,uint256 deadline)");
    bytes32 private constant _SET_MINOR_TYPEHASH =
        keccak256("SetMinor(address patient,bool minor,uint256 nonce,uint256 deadline)");
    bytes32 private constant _SET_RECOVERY_GUARDIANS_TYPEHASH = keccak256(
        "SetRecoveryGuardians(address patient,bytes32 guardiansHash,uint8 threshold,uint256 nonce,uint256 deadline)"
    );

    /// @dev One slot. The latest appointment of a delegate; a new appointment replaces it (and clears `revokedAt`).
    struct Appointment {
        uint8 kind;
        uint64 appointedAt;
        uint64 expiresAt;
        uint64 revokedAt;
    }

    struct RecoveryGuardians {
        bytes32 guardiansHash;
        uint8 threshold;
        uint64 updatedAt;
    }

    mapping(address patient => mapping(address delegate => Appointment)) private _appointments;
    mapping(address patient => bool) private _minors;
    mapping(address patient => RecoveryGuardians) private _recovery;

    event DelegateAppointed(address indexed patient, address indexed delegate, uint8 indexed kind, uint64 expiresAt);
    event DelegateRevoked(address indexed patient, address indexed delegate, address indexed signer);
    event MinorStatusSet(address indexed patient, bool minor);
    event RecoveryGuardiansSet(address indexed patient, bytes32 guardiansHash, uint8 threshold);

    error DelegationExpiredSignature(uint256 deadline);
    error DelegationInvalidSignature(address signer);
    error DelegationInvalidDelegate(address delegate);
    error DelegationInvalidKind(uint8 kind);
    error DelegationInvalidExpiry(uint64 expiresAt);
    error DelegationNotDelegate(address patient, address delegate);
    error DelegationUnauthorizedSigner(address patient, address signer);
    error DelegationInvalidRecoveryGuardians(bytes32 guardiansHash, uint8 threshold);

    // ---------------------------------------------------------------------------------------------------------- writes

    /**
     * @notice Appoints `delegate` as `kind` (GUARDIAN or CARER) for `patient` until `expiresAt` (0: no expiry), on the
     * EIP-712 `AppointDelegate` signature of `patient`. Re-appointing replaces the kind and expiry.
     */
    function appointDelegateBySig(
        address patient,
        address delegate,
        uint8 kind,
        uint64 expiresAt,
        uint256 deadline,
        bytes calldata signature
    ) external {
        _checkDeadline(deadline);
        if (delegate == address(0) || delegate == patient) revert DelegationInvalidDelegate(delegate);
        if (kind != GUARDIAN && kind != CARER) revert DelegationInvalidKind(kind);
        if (expiresAt != 0 && expiresAt <= block.timestamp) revert DelegationInvalidExpiry(expiresAt);
        bytes32 structHash = keccak256(
            abi.encode(_APPOINT_DELEGATE_TYPEHASH, patient, delegate, kind, expiresAt, _useNonce(patient), deadline)
        );
        _checkSignature(patient, structHash, signature);

        _appointments[patient][delegate] =
            Appointment({kind: kind, appointedAt: uint64(block.timestamp), expiresAt: expiresAt, revokedAt: 0});
        emit DelegateAppointed(patient, delegate, kind, expiresAt);
    }

    /**
     * @notice Revokes a current delegate of `patient` on the EIP-712 `RevokeDelegate` signature of `signer`: the
     * patient, or, while the patient is flagged minor, a current guardian revoking a carer.
     */
    function revokeDelegateBySig(
        address patient,
        address delegate,
        address signer,
        uint256 deadline,
        bytes calldata signature
    ) external {
        _checkDeadline(deadline);
        Appointment storage a = _appointments[patient][delegate];
        if (!_isCurrent(a, block.timestamp)) revert DelegationNotDelegate(patient, delegate);
        if (signer != patient && !_guardianMayRevoke(patient, signer, a.kind)) {
            revert DelegationUnauthorizedSigner(patient, signer);
        }
        bytes32 structHash =
            keccak256(abi.encode(_REVOKE_DELEGATE_TYPEHASH, patient, delegate, _useNonce(signer), deadline));
        _checkSignature(signer, structHash, signature);

        a.revokedAt = uint64(block.timestamp);
        emit DelegateRevoked(patient, delegate, signer);
    }

    /// @notice Flags or unflags `patient` as a minor, on the EIP-712 `SetMinor` signature of `patient`.
    function setMinorBySig(address patient, bool minor, uint256 deadline, bytes calldata signature) external {
        _checkDeadline(deadline);
        bytes32 structHash = keccak256(abi.encode(_SET_MINOR_TYPEHASH, patient, minor, _useNonce(patient), deadline));
        _checkSignature(patient, structHash, signature);
        _minors[patient] = minor;
        emit MinorStatusSet(patient, minor);
    }

    /**
     * @notice Commits to `patient`'s recovery guardians (`guardiansHash`) and how many of them recover the patient's
     * key (`threshold`), on the EIP-712 `SetRecoveryGuardians` signature of `patient`. Both zero clears the commitment.
     */
    function setRecoveryGuardiansBySig(
        address patient,
        bytes32 guardiansHash,
        uint8 threshold,
        uint256 deadline,
        bytes calldata signature
    ) external {
        _checkDeadline(deadline);
        if ((guardiansHash == bytes32(0)) != (threshold == 0)) {
            revert DelegationInvalidRecoveryGuardians(guardiansHash, threshold);
        }
        bytes32 structHash = keccak256(
            abi.encode(_SET_RECOVERY_GUARDIANS_TYPEHASH, patient, guardiansHash, threshold, _useNonce(patient), deadline)
        );
        _checkSignature(patient, structHash, signature);
        _recovery[patient] =
            RecoveryGuardians({guardiansHash: guardiansHash, threshold: threshold, updatedAt: uint64(block.timestamp)});
        emit RecoveryGuardiansSet(patient, guardiansHash, threshold);
    }

    // ----------------------------------------------------------------------------------------------------------- views

    /// @inheritdoc IDelegation
    function isDelegate(address patient, address account) external view returns (bool) {
        return _isCurrent(_appointments[patient][account], block.timestamp);
    }

    /**
     * @inheritdoc IDelegation
     * @dev Only the latest appointment is kept: after a revocation and a new appointment, the earlier period is lost.
     */
    function wasDelegateAt(address patient, address account, uint256 timestamp) external view returns (bool) {
        return _isCurrent(_appointments[patient][account], timestamp);
    }

    /// @notice The latest appointment of `delegate` by `patient` (all zero if none).
    function appointmentOf(address patient, address delegate)
        external
        view
        returns (uint8 kind, uint64 appointedAt, uint64 expiresAt, uint64 revokedAt)
    {
        Appointment storage a = _appointments[patient][delegate];
        return (a.kind, a.appointedAt, a.expiresAt, a.revokedAt);
    }

    function isMinor(address patient) external view returns (bool) {
        return _minors[patient];
    }

    function recoveryGuardiansOf(address patient)
        external
        view
        returns (bytes32 guardiansHash, uint8 threshold, uint64 updatedAt)
    {
        RecoveryGuardians storage r = _recovery[patient];
        return (r.guardiansHash, r.threshold, r.updatedAt);
    }

    // -------------------------------------------------------------------------------------------------------- internal

    function _isCurrent(Appointment storage a, uint256 timestamp) private view returns (bool) {
        uint256 appointedAt = a.appointedAt;
        uint256 expiresAt = a.expiresAt;
        uint256 revokedAt = a.revokedAt;
        return appointedAt != 0 && appointedAt <= timestamp && (expiresAt == 0 || timestamp < expiresAt)
            && (revokedAt == 0 || timestamp < revokedAt);
    }

    /// @dev The minor policy: a current guardian of a minor may revoke the minor's carers (not other guardians).
    function _guardianMayRevoke(address patient, address signer, uint8 revokedKind) private view returns (bool) {
        if (revokedKind != CARER || !_minors[patient]) return false;
        Appointment storage g = _appointments[patient][signer];
        return g.kind == GUARDIAN && _isCurrent(g, block.timestamp);
    }

    function _checkDeadline(uint256 deadline) private view {
        if (block.timestamp > deadline) revert DelegationExpiredSignature(deadline);
    }

    function _checkSignature(address signer, bytes32 structHash, bytes calldata signature) private view {
        if (!_isValidSignature(signer, structHash, signature)) revert DelegationInvalidSignature(signer);
    }
}
