// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/**
 * @title TypedSignatures
 * @notice The MedBloc EIP-712 domain (name "MedBloc", version "1", this contract) and signature checking shared by the
 * consent contracts. Typed data is defined once in the core package (eip712.ts); each contract keeps its typehashes.
 */
abstract contract TypedSignatures is EIP712 {
    constructor() EIP712("MedBloc", "1") {}

    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /**
     * @dev ECDSA first, then ERC-1271 for accounts with code (smart accounts). Unlike SignatureChecker, which asks for
     * the signer's code first, this spares EOAs a cold account access (2,600 gas) on every relayed call.
     */
    function _isValidSignature(address signer, bytes32 structHash, bytes calldata signature)
        internal
        view
        returns (bool)
    {
        bytes32 digest = _hashTypedDataV4(structHash);
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == signer) return true;
        return signer.code.length != 0 && SignatureChecker.isValidERC1271SignatureNowCalldata(signer, digest, signature);
    }
}
