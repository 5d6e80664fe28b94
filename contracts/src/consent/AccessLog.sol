// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/**
 * @title AccessLog
 * @notice Merkle roots of batches of signed access receipts, anchored by the nodes that served (or denied) the reads.
 * The receipts and their inclusion proofs stay off chain; a patient checks each entry of their access log against the
 * root anchored here. A root costs one storage slot. Nodes hold NODE_ROLE, granted by the admin.
 */
contract AccessLog is AccessControl {
    /// @notice Nodes allowed to anchor receipt roots.
    bytes32 public constant NODE_ROLE = keccak256("NODE_ROLE");

    /// @dev One slot: node, anchoredAt and count.
    struct Root {
        address node;
        uint64 anchoredAt;
        uint32 count;
    }

    mapping(bytes32 root => Root) private _roots;

    event ReceiptsAnchored(address indexed node, bytes32 indexed root, uint32 count);

    error AccessLogRootExists(bytes32 root);
    error AccessLogEmptyBatch();

    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Anchors the Merkle root over `count` access receipts; the caller (a NODE_ROLE holder) is recorded.
    function anchorReceipts(bytes32 root, uint32 count) external onlyRole(NODE_ROLE) {
        if (count == 0) revert AccessLogEmptyBatch();
        if (_roots[root].node != address(0)) revert AccessLogRootExists(root);
        _roots[root] = Root({node: msg.sender, anchoredAt: uint64(block.timestamp), count: count});
        emit ReceiptsAnchored(msg.sender, root, count);
    }

    /// @notice The node that anchored `root`, when, and over how many receipts (all zero if never anchored).
    function rootOf(bytes32 root) external view returns (address node, uint64 anchoredAt, uint32 count) {
        Root storage r = _roots[root];
        return (r.node, r.anchoredAt, r.count);
    }
}
