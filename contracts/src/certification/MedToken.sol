// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/**
 * @title MedToken
 * @notice MED, the transferable MedBloc token (ERC-20 with EIP-2612 permit, signing domain "MedBloc" version "1").
 * Used for certification bonds, data-request escrow and storage quota. The whole supply is minted to `holder` once.
 */
contract MedToken is ERC20, ERC20Permit {
    constructor(address holder, uint256 initialSupply) ERC20("MedBloc", "MED") ERC20Permit("MedBloc") {
        _mint(holder, initialSupply);
    }
}
