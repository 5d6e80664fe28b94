// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {AccountRegistry} from "../AccountRegistry.sol";
import {TypedSignatures} from "./TypedSignatures.sol";

/**
 * @title EmergencyAccess
 * @notice Break-glass requests: a certified provider asks, on the record, to read a patient's emergency profile.
 * Emergency key holders release their shares of the profile key only for a request recorded here, and the patient is
 * notified. The reason stays off chain; only its hash is published.
 *
 * A request is authorised by the provider's EIP-712 `BreakGlass` signature (typed data in the core package,
 * eip712.ts) and may be relayed by anyone. The provider must be certified at that moment.
 *   requestId = keccak256(abi.encode(provider, patient, reasonHash, nonce))
 * where nonce is the provider's nonce the signature used.
 */
contract EmergencyAccess is TypedSignatures, Nonces {
    uint8 private constant _PROVIDER = 2;

    bytes32 private constant _BREAK_GLASS_TYPEHASH =
        keccak256("BreakGlass(address provider,address patient,bytes32 reasonHash,uint256 nonce,uint256 deadline)");

    /// @dev Two slots: (provider, requestedAt) and patient.
    struct Request {
        address provider;
        uint64 requestedAt;
        address patient;
    }

    AccountRegistry private immutable _accounts;
    mapping(bytes32 requestId => Request) private _requests;

    event BreakGlassRequested(
        bytes32 indexed requestId, address indexed provider, address indexed patient, bytes32 reasonHash
    );

    error EmergencyAccessExpiredSignature(uint256 deadline);
    error EmergencyAccessInvalidSignature(address signer);
    error EmergencyAccessProviderNotCertified(address provider);
    error EmergencyAccessPatientNotRegistered(address patient);
    error EmergencyAccessInvalidReason();

    constructor(AccountRegistry accounts) {
        _accounts = accounts;
    }

    /**
     * @notice Records a break-glass request of `provider` for `patient`'s emergency profile, on the provider's EIP-712
     * `BreakGlass` signature. `reasonHash` commits to the provider's stated reason, kept off chain.
     */
    function requestBySig(
        address provider,
        address patient,
        bytes32 reasonHash,
        uint256 deadline,
        bytes calldata signature
    ) external returns (bytes32 requestId) {
        if (block.timestamp > deadline) revert EmergencyAccessExpiredSignature(deadline);
        if (reasonHash == bytes32(0)) revert EmergencyAccessInvalidReason();
        if (!_accounts.isCertified(provider, _PROVIDER)) revert EmergencyAccessProviderNotCertified(provider);
        if (!_accounts.isRegistered(patient)) revert EmergencyAccessPatientNotRegistered(patient);
        uint256 nonce = _useNonce(provider);
        bytes32 structHash = keccak256(abi.encode(_BREAK_GLASS_TYPEHASH, provider, patient, reasonHash, nonce, deadline));
        if (!_isValidSignature(provider, structHash, signature)) revert EmergencyAccessInvalidSignature(provider);

        requestId = keccak256(abi.encode(provider, patient, reasonHash, nonce));
        _requests[requestId] = Request({provider: provider, requestedAt: uint64(block.timestamp), patient: patient});
        emit BreakGlassRequested(requestId, provider, patient, reasonHash);
    }

    /// @notice A break-glass request by its id (all zero if none).
    function requestOf(bytes32 requestId)
        external
        view
        returns (address provider, address patient, uint64 requestedAt)
    {
        Request storage r = _requests[requestId];
        return (r.provider, r.patient, r.requestedAt);
    }

    function accountRegistry() external view returns (AccountRegistry) {
        return _accounts;
    }
}
