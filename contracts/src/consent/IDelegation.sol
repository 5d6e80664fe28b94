// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice What other contracts ask of Delegation: whether an account acts for a patient, now or at a past moment.
interface IDelegation {
    /// @notice Whether `account` is a current (appointed, not revoked, not expired) delegate of `patient`.
    function isDelegate(address patient, address account) external view returns (bool);

    /// @notice Whether `account` was a delegate of `patient` at `timestamp`, under the latest appointment.
    function wasDelegateAt(address patient, address account, uint256 timestamp) external view returns (bool);
}
