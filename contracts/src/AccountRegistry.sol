// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/**
 * @title AccountRegistry
 * @notice Accounts, their X25519 encryption keys, declared roles and certifications.
 *
 * Every state change a user makes is authorised by an EIP-712 signature (typed data in the core package, eip712.ts), so
 * anyone (a node's relayer) may submit it and pay the gas. Declared roles are self-claims; a provider or researcher
 * acts as one only while certified for that role by an authority (AUTHORITY_ROLE, governed by DEFAULT_ADMIN_ROLE) or
 * by a CERTIFIER_ROLE contract (the seam for peer review). Certification is kept independently of the declared roles.
 */
contract AccountRegistry is AccessControl, EIP712, Nonces {
    /// @notice Trusted certifiers (e.g. a medical board) whose signed certifications are accepted.
    bytes32 public constant AUTHORITY_ROLE = keccak256("AUTHORITY_ROLE");
    /// @notice Contracts (e.g. peer review) that certify and revoke directly, as `msg.sender`.
    bytes32 public constant CERTIFIER_ROLE = keccak256("CERTIFIER_ROLE");

    uint8 public constant PATIENT = 1;
    uint8 public constant PROVIDER = 2;
    uint8 public constant RESEARCHER = 4;
    uint8 private constant _ALL_ROLES = PATIENT | PROVIDER | RESEARCHER;

    bytes32 private constant _REGISTER_TYPEHASH =
        keccak256("Register(address account,bytes32 encryptionKey,uint8 roles,uint256 nonce,uint256 deadline)");
    bytes32 private constant _CERTIFY_TYPEHASH = keccak256(
        "Certify(address account,uint8 role,bytes32 credentialHash,uint64 expiresAt,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant _REVOKE_CERTIFICATION_TYPEHASH =
        keccak256("RevokeCertification(address account,uint8 role,uint256 nonce,uint256 deadline)");

    struct Account {
        bytes32 encryptionKey;
        uint8 roles;
        uint64 registeredAt;
    }

    /// @dev issuer, expiresAt and revoked share one slot, so `isCertified` costs a single storage read.
    struct Certification {
        address issuer;
        uint64 expiresAt;
        bool revoked;
        bytes32 credentialHash;
    }

    mapping(address account => Account) private _accounts;
    mapping(address account => mapping(uint8 role => Certification)) private _certifications;

    event AccountRegistered(address indexed account, bytes32 encryptionKey, uint8 roles);
    event Certified(
        address indexed account, uint8 indexed role, address indexed issuer, bytes32 credentialHash, uint64 expiresAt
    );
    event CertificationRevoked(address indexed account, uint8 indexed role, address indexed issuer);

    error AccountRegistryExpiredSignature(uint256 deadline);
    error AccountRegistryInvalidSignature(address signer);
    error AccountRegistryInvalidEncryptionKey();
    error AccountRegistryInvalidRoles(uint8 roles);
    error AccountRegistryInvalidCertifiableRole(uint8 role);
    error AccountRegistryInvalidExpiry(uint64 expiresAt);
    error AccountRegistryNotRegistered(address account);
    error AccountRegistryNotAuthority(address authority);
    error AccountRegistryNotCertified(address account, uint8 role);

    constructor(address admin) EIP712("MedBloc", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---------------------------------------------------------------------------------------------------------- writes

    /**
     * @notice Registers `account` (or updates its key and roles) on its EIP-712 `Register` signature.
     * The first registration time is kept on updates.
     */
    function registerBySig(
        address account,
        bytes32 encryptionKey,
        uint8 roles,
        uint256 deadline,
        bytes calldata signature
    ) external {
        _checkDeadline(deadline);
        if (encryptionKey == bytes32(0)) revert AccountRegistryInvalidEncryptionKey();
        if (roles == 0 || roles & ~_ALL_ROLES != 0) revert AccountRegistryInvalidRoles(roles);
        bytes32 structHash =
            keccak256(abi.encode(_REGISTER_TYPEHASH, account, encryptionKey, roles, _useNonce(account), deadline));
        _checkSignature(account, structHash, signature);

        Account storage a = _accounts[account];
        a.encryptionKey = encryptionKey;
        a.roles = roles;
        if (a.registeredAt == 0) a.registeredAt = uint64(block.timestamp);
        emit AccountRegistered(account, encryptionKey, roles);
    }

    /// @notice Certifies `account` for `role` on the EIP-712 `Certify` signature of `authority` (AUTHORITY_ROLE).
    function certifyBySig(
        address account,
        uint8 role,
        bytes32 credentialHash,
        uint64 expiresAt,
        address authority,
        uint256 deadline,
        bytes calldata signature
    ) external {
        _checkDeadline(deadline);
        _checkAuthority(authority);
        bytes32 structHash = keccak256(
            abi.encode(_CERTIFY_TYPEHASH, account, role, credentialHash, expiresAt, _useNonce(authority), deadline)
        );
        _checkSignature(authority, structHash, signature);
        _certify(account, role, credentialHash, expiresAt, authority);
    }

    /// @notice Revokes a certification on the EIP-712 `RevokeCertification` signature of `authority`.
    function revokeCertificationBySig(
        address account,
        uint8 role,
        address authority,
        uint256 deadline,
        bytes calldata signature
    ) external {
        _checkDeadline(deadline);
        _checkAuthority(authority);
        bytes32 structHash =
            keccak256(abi.encode(_REVOKE_CERTIFICATION_TYPEHASH, account, role, _useNonce(authority), deadline));
        _checkSignature(authority, structHash, signature);
        _revokeCertification(account, role, authority);
    }

    /// @notice Certifies directly; for CERTIFIER_ROLE holders (a peer-review contract), which become the issuer.
    function certify(address account, uint8 role, bytes32 credentialHash, uint64 expiresAt)
        external
        onlyRole(CERTIFIER_ROLE)
    {
        _certify(account, role, credentialHash, expiresAt, msg.sender);
    }

    /// @notice Revokes directly; for CERTIFIER_ROLE holders.
    function revokeCertification(address account, uint8 role) external onlyRole(CERTIFIER_ROLE) {
        _revokeCertification(account, role, msg.sender);
    }

    // ----------------------------------------------------------------------------------------------------------- views

    function isRegistered(address account) public view returns (bool) {
        return _accounts[account].registeredAt != 0;
    }

    function accountOf(address account) external view returns (bytes32 encryptionKey, uint8 roles, uint64 registeredAt) {
        Account storage a = _accounts[account];
        return (a.encryptionKey, a.roles, a.registeredAt);
    }

    function certificationOf(address account, uint8 role)
        external
        view
        returns (address issuer, bytes32 credentialHash, uint64 expiresAt, bool revoked)
    {
        Certification storage c = _certifications[account][role];
        return (c.issuer, c.credentialHash, c.expiresAt, c.revoked);
    }

    /// @notice Whether `account` holds a certification for `role` that is issued, not revoked and not expired now.
    function isCertified(address account, uint8 role) public view returns (bool) {
        Certification storage c = _certifications[account][role];
        return c.issuer != address(0) && !c.revoked && c.expiresAt > block.timestamp;
    }

    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // -------------------------------------------------------------------------------------------------------- internal

    function _certify(address account, uint8 role, bytes32 credentialHash, uint64 expiresAt, address issuer) private {
        if (role != PROVIDER && role != RESEARCHER) revert AccountRegistryInvalidCertifiableRole(role);
        if (!isRegistered(account)) revert AccountRegistryNotRegistered(account);
        if (expiresAt <= block.timestamp) revert AccountRegistryInvalidExpiry(expiresAt);
        _certifications[account][role] =
            Certification({issuer: issuer, expiresAt: expiresAt, revoked: false, credentialHash: credentialHash});
        emit Certified(account, role, issuer, credentialHash, expiresAt);
    }

    function _revokeCertification(address account, uint8 role, address issuer) private {
        Certification storage c = _certifications[account][role];
        if (c.issuer == address(0) || c.revoked) revert AccountRegistryNotCertified(account, role);
        c.revoked = true;
        emit CertificationRevoked(account, role, issuer);
    }

    function _checkDeadline(uint256 deadline) private view {
        if (block.timestamp > deadline) revert AccountRegistryExpiredSignature(deadline);
    }

    function _checkAuthority(address authority) private view {
        if (!hasRole(AUTHORITY_ROLE, authority)) revert AccountRegistryNotAuthority(authority);
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
            revert AccountRegistryInvalidSignature(signer);
        }
    }
}
