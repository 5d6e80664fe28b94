// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccountRegistry} from "../AccountRegistry.sol";
import {IDelegation} from "./IDelegation.sol";
import {TypedSignatures} from "./TypedSignatures.sol";

/**
 * @title ConsentRegistry
 * @notice Consent grants: an owner lets a grantee read one opaque scope for one purpose, until an expiry or a
 * revocation. The scope is a record id or a keyed hash of a category (scope.ts in the core package): never a readable
 * category, which can itself be medical information.
 *
 * Grants and revocations are authorised by the EIP-712 signature of the owner or of a current delegate of the owner
 * (Delegation), and may be relayed by anyone; events name the signer, so every change is attributable. A grant takes
 * one storage slot, keyed by (owner, grantee, scope, purpose), which also holds that grant's nonce: signatures are
 * replay-protected per grant, so a first grant initialises no separate nonce slot, and grants for different grantees
 * or scopes can be signed and relayed in any order. Read a grant's nonce with `grantNonce` before signing.
 */
contract ConsentRegistry is TypedSignatures {
    uint8 public constant CARE = 1;
    uint8 public constant RESEARCH = 2;
    uint8 private constant _RESEARCHER = 4;

    bytes32 private constant _GRANT_CONSENT_TYPEHASH = keccak256(
        "GrantConsent(address owner,address grantee,bytes32 scope,uint8 purpose,uint64 expiresAt,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant _REVOKE_CONSENT_TYPEHASH = keccak256(
        "RevokeConsent(address owner,address grantee,bytes32 scope,uint8 purpose,uint256 nonce,uint256 deadline)"
    );

    /// @dev One slot. `nonce` counts the signed changes of this grant (each grant and revocation uses one).
    struct Grant {
        uint64 issuedAt;
        uint64 expiresAt;
        uint8 purpose;
        bool revoked;
        uint64 nonce;
    }

    AccountRegistry private immutable _accounts;
    IDelegation private immutable _delegation;
    mapping(bytes32 grantKey => Grant) private _grants;

    event GrantIssued(
        address indexed owner,
        address indexed grantee,
        bytes32 indexed scope,
        uint8 purpose,
        uint64 expiresAt,
        address signer
    );
    event GrantRevoked(
        address indexed owner, address indexed grantee, bytes32 indexed scope, uint8 purpose, address signer
    );

    error ConsentRegistryExpiredSignature(uint256 deadline);
    error ConsentRegistryInvalidSignature(address signer);
    error ConsentRegistryUnauthorizedSigner(address owner, address signer);
    error ConsentRegistryInvalidGrantee(address grantee);
    error ConsentRegistryInvalidScope();
    error ConsentRegistryInvalidPurpose(uint8 purpose);
    error ConsentRegistryInvalidExpiry(uint64 expiresAt);
    error ConsentRegistryGranteeNotCertified(address grantee, uint8 purpose);
    error ConsentRegistryNotGranted(address owner, address grantee, bytes32 scope, uint8 purpose);

    constructor(AccountRegistry accounts, IDelegation delegations) {
        _accounts = accounts;
        _delegation = delegations;
    }

    // ---------------------------------------------------------------------------------------------------------- writes

    /**
     * @notice Grants `grantee` access to `scope` of `owner` for `purpose` until `expiresAt` (0: no expiry), on the
     * EIP-712 `GrantConsent` signature of `signer`: the owner or a current delegate of the owner. Re-granting renews
     * the grant (new expiry, un-revoked). A research grant requires a grantee certified as a researcher.
     */
    function grantBySig(
        address owner,
        address grantee,
        bytes32 scope,
        uint8 purpose,
        uint64 expiresAt,
        address signer,
        uint256 deadline,
        bytes calldata signature
    ) external {
        _checkDeadline(deadline);
        if (grantee == address(0) || grantee == owner) revert ConsentRegistryInvalidGrantee(grantee);
        if (scope == bytes32(0)) revert ConsentRegistryInvalidScope();
        if (purpose != CARE && purpose != RESEARCH) revert ConsentRegistryInvalidPurpose(purpose);
        if (expiresAt != 0 && expiresAt <= block.timestamp) revert ConsentRegistryInvalidExpiry(expiresAt);
        _checkSigner(owner, signer);
        if (purpose == RESEARCH && !_accounts.isCertified(grantee, _RESEARCHER)) {
            revert ConsentRegistryGranteeNotCertified(grantee, purpose);
        }
        bytes32 key = _grantKey(owner, grantee, scope, purpose);
        uint64 nonce = _grants[key].nonce;
        bytes32 structHash = keccak256(
            abi.encode(_GRANT_CONSENT_TYPEHASH, owner, grantee, scope, purpose, expiresAt, nonce, deadline)
        );
        _checkSignature(signer, structHash, signature);

        _grants[key] = Grant({
            issuedAt: uint64(block.timestamp),
            expiresAt: expiresAt,
            purpose: purpose,
            revoked: false,
            nonce: nonce + 1
        });
        emit GrantIssued(owner, grantee, scope, purpose, expiresAt, signer);
    }

    /**
     * @notice Revokes a grant on the EIP-712 `RevokeConsent` signature of `signer`: the owner or a current delegate of
     * the owner. A lapsed grant may be revoked too; a revoked or never-issued one may not.
     */
    function revokeBySig(
        address owner,
        address grantee,
        bytes32 scope,
        uint8 purpose,
        address signer,
        uint256 deadline,
        bytes calldata signature
    ) external {
        _checkDeadline(deadline);
        bytes32 key = _grantKey(owner, grantee, scope, purpose);
        Grant storage g = _grants[key];
        if (g.issuedAt == 0 || g.revoked) revert ConsentRegistryNotGranted(owner, grantee, scope, purpose);
        _checkSigner(owner, signer);
        uint64 nonce = g.nonce;
        bytes32 structHash =
            keccak256(abi.encode(_REVOKE_CONSENT_TYPEHASH, owner, grantee, scope, purpose, nonce, deadline));
        _checkSignature(signer, structHash, signature);

        g.revoked = true;
        g.nonce = nonce + 1;
        emit GrantRevoked(owner, grantee, scope, purpose, signer);
    }

    // ----------------------------------------------------------------------------------------------------------- views

    /// @notice Whether `grantee` may read `scope` of `owner` for `purpose` now: issued, not revoked, not expired.
    function isGranted(address owner, address grantee, bytes32 scope, uint8 purpose) external view returns (bool) {
        Grant storage g = _grants[_grantKey(owner, grantee, scope, purpose)];
        return g.issuedAt != 0 && !g.revoked && (g.expiresAt == 0 || block.timestamp < g.expiresAt);
    }

    /// @notice The grant (all zero if never issued). `issuedAt` is the time of the latest (re-)grant.
    function grantOf(address owner, address grantee, bytes32 scope, uint8 purpose)
        external
        view
        returns (Grant memory)
    {
        return _grants[_grantKey(owner, grantee, scope, purpose)];
    }

    /// @notice The nonce the next `GrantConsent` or `RevokeConsent` signature for this grant must carry.
    function grantNonce(address owner, address grantee, bytes32 scope, uint8 purpose)
        external
        view
        returns (uint256)
    {
        return _grants[_grantKey(owner, grantee, scope, purpose)].nonce;
    }

    function accountRegistry() external view returns (AccountRegistry) {
        return _accounts;
    }

    function delegation() external view returns (IDelegation) {
        return _delegation;
    }

    // -------------------------------------------------------------------------------------------------------- internal

    function _grantKey(address owner, address grantee, bytes32 scope, uint8 purpose) private pure returns (bytes32) {
        return keccak256(abi.encode(owner, grantee, scope, purpose));
    }

    function _checkSigner(address owner, address signer) private view {
        if (signer != owner && !_delegation.isDelegate(owner, signer)) {
            revert ConsentRegistryUnauthorizedSigner(owner, signer);
        }
    }

    function _checkDeadline(uint256 deadline) private view {
        if (block.timestamp > deadline) revert ConsentRegistryExpiredSignature(deadline);
    }

    function _checkSignature(address signer, bytes32 structHash, bytes calldata signature) private view {
        if (!_isValidSignature(signer, structHash, signature)) revert ConsentRegistryInvalidSignature(signer);
    }
}
