// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

/**
 * @title MPPoints
 * @notice MP, non-transferable reputation points used as stake by peer reviewers.
 *
 * There is no transfer or approval: points are minted by MINTER_ROLE contracts (activity rules chosen by governance:
 * a certification, a completed review) and burnt by SLASHER_ROLE contracts. A holder moves points between free and
 * staked (directly, or by an EIP-712 `Stake`/`Unstake` signature that anyone may relay). LOCKER_ROLE contracts (peer
 * review) lock part of a stake while its holder sits on a review, so it cannot be withdrawn before a possible slash.
 * The set of holders with a stake is enumerable: it is the pool reviewers are drawn from.
 */
contract MPPoints is AccessControl, EIP712, Nonces {
    using EnumerableSet for EnumerableSet.AddressSet;

    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");
    bytes32 public constant LOCKER_ROLE = keccak256("LOCKER_ROLE");

    bytes32 private constant _STAKE_TYPEHASH =
        keccak256("Stake(address holder,uint256 amount,uint256 nonce,uint256 deadline)");
    bytes32 private constant _UNSTAKE_TYPEHASH =
        keccak256("Unstake(address holder,uint256 amount,uint256 nonce,uint256 deadline)");

    /// @dev Both halves of a holder's stake share one slot.
    struct Stake {
        uint128 staked;
        uint128 locked;
    }

    mapping(address holder => uint256) private _free;
    mapping(address holder => Stake) private _stakes;
    uint256 private _totalSupply;
    EnumerableSet.AddressSet private _stakers;

    event PointsMinted(address indexed holder, uint256 amount, bytes32 indexed reason);
    event PointsSlashed(address indexed holder, uint256 amount, bytes32 indexed reason);
    event PointsStaked(address indexed holder, uint256 amount);
    event PointsUnstaked(address indexed holder, uint256 amount);
    event StakeLocked(address indexed holder, uint256 amount);
    event StakeUnlocked(address indexed holder, uint256 amount);

    error MPPointsExpiredSignature(uint256 deadline);
    error MPPointsInvalidSignature(address signer);
    error MPPointsInvalidAmount();
    error MPPointsInsufficientPoints(address holder, uint256 available, uint256 needed);
    error MPPointsInsufficientStake(address holder, uint256 available, uint256 needed);

    constructor(address admin) EIP712("MedBloc", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---------------------------------------------------------------------------------------------------- holders

    /// @notice Stakes `amount` of the caller's free points.
    function stake(uint256 amount) external {
        _stake(msg.sender, amount);
    }

    /// @notice Returns `amount` of the caller's unlocked stake to its free points.
    function unstake(uint256 amount) external {
        _unstake(msg.sender, amount);
    }

    /// @notice Stakes on `holder`'s EIP-712 `Stake` signature (relayed, e.g. by a node or the peer-review flow).
    function stakeBySig(address holder, uint256 amount, uint256 deadline, bytes calldata signature) external {
        _checkSigned(_STAKE_TYPEHASH, holder, amount, deadline, signature);
        _stake(holder, amount);
    }

    /// @notice Unstakes on `holder`'s EIP-712 `Unstake` signature.
    function unstakeBySig(address holder, uint256 amount, uint256 deadline, bytes calldata signature) external {
        _checkSigned(_UNSTAKE_TYPEHASH, holder, amount, deadline, signature);
        _unstake(holder, amount);
    }

    // ------------------------------------------------------------------------------------------------ role holders

    /// @notice Mints free points to `holder`; `reason` names the activity rule (e.g. "review", "certification").
    function mint(address holder, uint256 amount, bytes32 reason) external onlyRole(MINTER_ROLE) {
        if (amount == 0) revert MPPointsInvalidAmount();
        _free[holder] += amount;
        _totalSupply += amount;
        emit PointsMinted(holder, amount, reason);
    }

    /// @notice Burns `amount` of `holder`'s stake (locked or not); a lock never exceeds what remains staked.
    function slash(address holder, uint256 amount, bytes32 reason) external onlyRole(SLASHER_ROLE) {
        Stake storage s = _stakes[holder];
        uint256 staked = s.staked;
        if (amount > staked) revert MPPointsInsufficientStake(holder, staked, amount);
        uint128 remaining = uint128(staked - amount);
        s.staked = remaining;
        if (s.locked > remaining) s.locked = remaining;
        _totalSupply -= amount;
        if (remaining == 0) _stakers.remove(holder);
        emit PointsSlashed(holder, amount, reason);
    }

    /// @notice Locks `amount` of `holder`'s unlocked stake.
    function lock(address holder, uint256 amount) external onlyRole(LOCKER_ROLE) {
        Stake storage s = _stakes[holder];
        uint256 unlocked = s.staked - s.locked;
        if (amount > unlocked) revert MPPointsInsufficientStake(holder, unlocked, amount);
        s.locked += uint128(amount);
        emit StakeLocked(holder, amount);
    }

    /// @notice Unlocks up to `amount` of `holder`'s locked stake (less if a slash already reduced the lock).
    function unlock(address holder, uint256 amount) external onlyRole(LOCKER_ROLE) {
        Stake storage s = _stakes[holder];
        uint256 released = amount < s.locked ? amount : s.locked;
        s.locked -= uint128(released);
        emit StakeUnlocked(holder, released);
    }

    // ------------------------------------------------------------------------------------------------------ views

    function name() external pure returns (string memory) {
        return "MedBloc Points";
    }

    function symbol() external pure returns (string memory) {
        return "MP";
    }

    function decimals() external pure returns (uint8) {
        return 18;
    }

    function totalSupply() external view returns (uint256) {
        return _totalSupply;
    }

    /// @notice All of `holder`'s points: free and staked.
    function balanceOf(address holder) external view returns (uint256) {
        return _free[holder] + _stakes[holder].staked;
    }

    function freeBalanceOf(address holder) external view returns (uint256) {
        return _free[holder];
    }

    function stakedOf(address holder) external view returns (uint256) {
        return _stakes[holder].staked;
    }

    function lockedOf(address holder) external view returns (uint256) {
        return _stakes[holder].locked;
    }

    /// @notice Stake neither locked nor slashed: what a new review may lock, and what the holder may unstake.
    function unlockedStakeOf(address holder) external view returns (uint256) {
        Stake storage s = _stakes[holder];
        return s.staked - s.locked;
    }

    function stakerCount() external view returns (uint256) {
        return _stakers.length();
    }

    function stakerAt(uint256 index) external view returns (address) {
        return _stakers.at(index);
    }

    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // --------------------------------------------------------------------------------------------------- internal

    function _stake(address holder, uint256 amount) private {
        uint256 free = _free[holder];
        if (amount == 0) revert MPPointsInvalidAmount();
        if (amount > free) revert MPPointsInsufficientPoints(holder, free, amount);
        _free[holder] = free - amount;
        Stake storage s = _stakes[holder];
        if (s.staked == 0) _stakers.add(holder);
        s.staked += SafeCast.toUint128(amount);
        emit PointsStaked(holder, amount);
    }

    function _unstake(address holder, uint256 amount) private {
        Stake storage s = _stakes[holder];
        uint256 unlocked = s.staked - s.locked;
        if (amount == 0) revert MPPointsInvalidAmount();
        if (amount > unlocked) revert MPPointsInsufficientStake(holder, unlocked, amount);
        s.staked -= uint128(amount);
        _free[holder] += amount;
        if (s.staked == 0) _stakers.remove(holder);
        emit PointsUnstaked(holder, amount);
    }

    function _checkSigned(bytes32 typehash, address holder, uint256 amount, uint256 deadline, bytes calldata signature)
        private
    {
        if (block.timestamp > deadline) revert MPPointsExpiredSignature(deadline);
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(typehash, holder, amount, _useNonce(holder), deadline)));
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == holder) return;
        if (holder.code.length == 0 || !SignatureChecker.isValidERC1271SignatureNowCalldata(holder, digest, signature)) {
            revert MPPointsInvalidSignature(holder);
        }
    }
}
