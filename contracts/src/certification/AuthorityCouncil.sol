// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {AccountRegistry} from "../AccountRegistry.sol";
import {MPPoints} from "./MPPoints.sol";

/**
 * @title AuthorityCouncil
 * @notice m-of-n governance of the certification authorities, the certification parameters and institutions.
 *
 * Members are the authorities. Adding or removing one, changing the threshold, changing the parameters, or any other
 * governed call (e.g. granting MINTER_ROLE to a new activity-rule contract) is a proposal that executes once
 * `threshold` current members approved it; approvals of removed members no longer count. The council must hold
 * DEFAULT_ADMIN_ROLE on AccountRegistry (it grants and revokes AUTHORITY_ROLE) and CERTIFIER_ROLE (it certifies for
 * authorities and institutions), and MINTER_ROLE on MPPoints (the certification reward).
 *
 * Authorities also act alone: they certify or revoke a provider or researcher (with a credential hash, the pointer to
 * the encrypted evidence and an expiry; the account earns the certification reward once per role) and mark
 * institutions with a staff quota. An institution certifies its own practitioners as providers within that quota;
 * the practitioner -> institution link is kept here.
 */
contract AuthorityCouncil {
    using EnumerableSet for EnumerableSet.AddressSet;

    uint8 public constant ADD_AUTHORITY = 1;
    uint8 public constant REMOVE_AUTHORITY = 2;
    uint8 public constant SET_THRESHOLD = 3;
    uint8 public constant SET_PARAMETERS = 4;
    uint8 public constant CALL = 5;

    uint16 private constant _BPS = 10_000;
    uint8 private constant _MAX_REVIEW_SIZE = 32;
    bytes32 private constant _CERTIFICATION_REWARD = "certification";

    /**
     * @notice Everything the certification flows are parameterised by. Amounts of MP and MED are in base units.
     * @dev Packed into four slots: the first holds all small fields.
     */
    struct Parameters {
        uint8 reviewSize; // reviewers drawn per application
        uint8 quorum; // revealed votes needed for a decision
        uint16 slashBps; // share of the locked stake burnt from minority voters and non-revealers
        uint16 bondReturnBps; // share of the bond returned to a rejected candidate
        uint32 commitWindow; // seconds from application to the end of commits
        uint32 revealWindow; // seconds from the end of commits to the end of reveals
        uint32 certificationValidity; // seconds a peer-reviewed certification lasts
        uint32 maxStaffQuota; // largest staff quota an authority may give an institution
        uint32 maxStaffValidity; // longest an institution's staff certification may last, in seconds
        uint32 proposalLifetime; // seconds a proposal stays open
        uint128 reviewerStake; // MP locked per reviewer per review (and the minimum stake to be drawn)
        uint128 reviewReward; // MP minted to each majority voter
        uint128 certificationReward; // MP minted to a newly certified account
        uint128 minBond; // MED an applicant must bond at least
        address treasury; // receives forfeited bonds
    }

    struct Proposal {
        uint8 kind;
        bool executed;
        uint64 expiresAt;
        address proposer;
        bytes data;
    }

    struct Institution {
        bool active;
        uint32 staffQuota;
        uint32 staffCount;
    }

    AccountRegistry private immutable _registry;
    MPPoints private immutable _points;

    EnumerableSet.AddressSet private _authorities;
    uint256 private _threshold;
    Parameters private _parameters;
    Proposal[] private _proposals;
    mapping(uint256 proposalId => mapping(address authority => bool)) private _approved;
    mapping(address institution => Institution) private _institutions;
    mapping(address practitioner => address institution) private _employer;
    mapping(address account => mapping(uint8 role => bool)) private _rewarded;

    event ProposalCreated(uint256 indexed proposalId, uint8 indexed kind, address indexed proposer, bytes data);
    event ProposalApproved(uint256 indexed proposalId, address indexed authority);
    event ProposalExecuted(uint256 indexed proposalId);
    event AuthorityAdded(address indexed authority);
    event AuthorityRemoved(address indexed authority);
    event ThresholdChanged(uint256 threshold);
    event ParametersChanged(Parameters parameters);
    event AuthorityCertified(
        address indexed account,
        uint8 indexed role,
        address indexed authority,
        bytes32 credentialHash,
        bytes32 evidencePointer,
        uint64 expiresAt
    );
    event AuthorityRevokedCertification(address indexed account, uint8 indexed role, address indexed authority);
    event InstitutionSet(address indexed institution, address indexed authority, bool active, uint32 staffQuota);
    event StaffCertified(
        address indexed institution, address indexed practitioner, bytes32 credentialHash, uint64 expiresAt
    );
    event StaffRevoked(address indexed institution, address indexed practitioner);

    error AuthorityCouncilNotAuthority(address account);
    error AuthorityCouncilInvalidThreshold(uint256 threshold, uint256 authorities);
    error AuthorityCouncilInvalidParameters();
    error AuthorityCouncilInvalidAuthority(address account);
    error AuthorityCouncilUnknownProposal(uint256 proposalId);
    error AuthorityCouncilProposalClosed(uint256 proposalId);
    error AuthorityCouncilAlreadyApproved(uint256 proposalId, address authority);
    error AuthorityCouncilNotEnoughApprovals(uint256 proposalId, uint256 approvals, uint256 threshold);
    error AuthorityCouncilCallFailed(uint256 proposalId, bytes reason);
    error AuthorityCouncilNotInstitution(address account);
    error AuthorityCouncilStaffQuotaExceeded(address institution, uint32 staffQuota);
    error AuthorityCouncilInvalidStaffQuota(uint32 staffQuota, uint32 maxStaffQuota);
    error AuthorityCouncilInvalidExpiry(uint64 expiresAt);
    error AuthorityCouncilAlreadyCertified(address practitioner);
    error AuthorityCouncilNotStaff(address institution, address practitioner);

    modifier onlyAuthority() {
        if (!_authorities.contains(msg.sender)) revert AuthorityCouncilNotAuthority(msg.sender);
        _;
    }

    /**
     * @param authorities_ the first members; the deployer grants them AUTHORITY_ROLE on the registry (the council
     * cannot before it is made an admin there).
     * @param parameters_ a zero treasury means the council itself (spent later by a CALL proposal).
     */
    constructor(
        AccountRegistry registry_,
        MPPoints points_,
        address[] memory authorities_,
        uint256 threshold_,
        Parameters memory parameters_
    ) {
        _registry = registry_;
        _points = points_;
        for (uint256 i = 0; i < authorities_.length; ++i) {
            if (authorities_[i] == address(0) || !_authorities.add(authorities_[i])) {
                revert AuthorityCouncilInvalidAuthority(authorities_[i]);
            }
            emit AuthorityAdded(authorities_[i]);
        }
        _setThreshold(threshold_);
        if (parameters_.treasury == address(0)) parameters_.treasury = address(this);
        _setParameters(parameters_);
    }

    // --------------------------------------------------------------------------------------------------- proposals

    function proposeAddAuthority(address authority) external returns (uint256) {
        return _propose(ADD_AUTHORITY, abi.encode(authority));
    }

    function proposeRemoveAuthority(address authority) external returns (uint256) {
        return _propose(REMOVE_AUTHORITY, abi.encode(authority));
    }

    function proposeThreshold(uint256 threshold_) external returns (uint256) {
        return _propose(SET_THRESHOLD, abi.encode(threshold_));
    }

    function proposeParameters(Parameters calldata parameters_) external returns (uint256) {
        _checkParameters(parameters_);
        return _propose(SET_PARAMETERS, abi.encode(parameters_));
    }

    /// @notice A governed call, e.g. `MPPoints.grantRole(MINTER_ROLE, rule)` or `AccountRegistry.grantRole(...)`.
    function proposeCall(address target, bytes calldata callData) external returns (uint256) {
        return _propose(CALL, abi.encode(target, callData));
    }

    function approve(uint256 proposalId) external onlyAuthority {
        _openProposal(proposalId);
        _approve(proposalId);
    }

    /// @notice Executes a proposal that `threshold` current authorities approved; any authority may call it.
    function execute(uint256 proposalId) external onlyAuthority {
        Proposal storage p = _openProposal(proposalId);
        uint256 approvals = approvalCount(proposalId);
        if (approvals < _threshold) revert AuthorityCouncilNotEnoughApprovals(proposalId, approvals, _threshold);
        p.executed = true;
        emit ProposalExecuted(proposalId);

        uint8 kind = p.kind;
        if (kind == ADD_AUTHORITY) {
            address authority = abi.decode(p.data, (address));
            if (authority == address(0) || !_authorities.add(authority)) {
                revert AuthorityCouncilInvalidAuthority(authority);
            }
            _registry.grantRole(_registry.AUTHORITY_ROLE(), authority);
            emit AuthorityAdded(authority);
        } else if (kind == REMOVE_AUTHORITY) {
            address authority = abi.decode(p.data, (address));
            if (!_authorities.remove(authority)) revert AuthorityCouncilInvalidAuthority(authority);
            if (_authorities.length() < _threshold) {
                revert AuthorityCouncilInvalidThreshold(_threshold, _authorities.length());
            }
            _registry.revokeRole(_registry.AUTHORITY_ROLE(), authority);
            emit AuthorityRemoved(authority);
        } else if (kind == SET_THRESHOLD) {
            _setThreshold(abi.decode(p.data, (uint256)));
        } else if (kind == SET_PARAMETERS) {
            _setParameters(abi.decode(p.data, (Parameters)));
        } else {
            (address target, bytes memory callData) = abi.decode(p.data, (address, bytes));
            (bool ok, bytes memory reason) = target.call(callData);
            if (!ok) revert AuthorityCouncilCallFailed(proposalId, reason);
        }
    }

    // ------------------------------------------------------------------------------------------ direct certification

    /**
     * @notice An authority certifies `account` for `role` (provider or researcher). `evidencePointer` is the digest
     * (CID) of the encrypted evidence blob, kept off chain and readable by the reviewers of the case only. The account
     * receives the certification reward in MP.
     */
    function certify(address account, uint8 role, bytes32 credentialHash, bytes32 evidencePointer, uint64 expiresAt)
        external
        onlyAuthority
    {
        // The authority's word replaces an institution's: the practitioner leaves its quota.
        address institution = _employer[account];
        if (institution != address(0) && role == _registry.PROVIDER()) _dropStaff(institution, account);
        _registry.certify(account, role, credentialHash, expiresAt);
        emit AuthorityCertified(account, role, msg.sender, credentialHash, evidencePointer, expiresAt);
        _reward(account, role);
    }

    /// @notice An authority revokes a certification (any issuer's); an institution's staff link is dropped with it.
    function revokeCertification(address account, uint8 role) external onlyAuthority {
        if (role == _registry.PROVIDER()) {
            address institution = _employer[account];
            if (institution != address(0)) _dropStaff(institution, account);
        }
        _registry.revokeCertification(account, role);
        emit AuthorityRevokedCertification(account, role, msg.sender);
    }

    /// @notice An authority marks (or unmarks, `active` false) `institution`, with a quota of staff it may certify.
    function setInstitution(address institution, bool active, uint32 staffQuota) external onlyAuthority {
        uint32 max = _parameters.maxStaffQuota;
        if (staffQuota > max) revert AuthorityCouncilInvalidStaffQuota(staffQuota, max);
        Institution storage i = _institutions[institution];
        i.active = active;
        i.staffQuota = staffQuota;
        emit InstitutionSet(institution, msg.sender, active, staffQuota);
    }

    /**
     * @notice An institution certifies `practitioner` as a provider, counted against its quota. The practitioner must
     * not hold a live provider certification from elsewhere (an institution renews only its own staff), and the expiry
     * is capped by the governed `maxStaffValidity`.
     */
    function certifyStaff(address practitioner, bytes32 credentialHash, uint64 expiresAt) external {
        Institution storage i = _institutions[msg.sender];
        if (!i.active) revert AuthorityCouncilNotInstitution(msg.sender);
        if (expiresAt > block.timestamp + _parameters.maxStaffValidity) revert AuthorityCouncilInvalidExpiry(expiresAt);
        uint8 provider = _registry.PROVIDER();
        address employer = _employer[practitioner];
        if (employer != msg.sender) {
            if (_registry.isCertified(practitioner, provider)) revert AuthorityCouncilAlreadyCertified(practitioner);
            if (employer != address(0)) _dropStaff(employer, practitioner);
            if (i.staffCount >= i.staffQuota) revert AuthorityCouncilStaffQuotaExceeded(msg.sender, i.staffQuota);
            ++i.staffCount;
            _employer[practitioner] = msg.sender;
        }
        _registry.certify(practitioner, provider, credentialHash, expiresAt);
        emit StaffCertified(msg.sender, practitioner, credentialHash, expiresAt);
    }

    /// @notice An institution revokes one of its own staff, freeing a place in its quota.
    function revokeStaff(address practitioner) external {
        if (_employer[practitioner] != msg.sender) revert AuthorityCouncilNotStaff(msg.sender, practitioner);
        _dropStaff(msg.sender, practitioner);
        uint8 provider = _registry.PROVIDER();
        if (_registry.isCertified(practitioner, provider)) _registry.revokeCertification(practitioner, provider);
    }

    // ------------------------------------------------------------------------------------------------------- views

    function registry() external view returns (AccountRegistry) {
        return _registry;
    }

    function points() external view returns (MPPoints) {
        return _points;
    }

    function parameters() external view returns (Parameters memory) {
        return _parameters;
    }

    function threshold() external view returns (uint256) {
        return _threshold;
    }

    function isAuthority(address account) external view returns (bool) {
        return _authorities.contains(account);
    }

    function authorities() external view returns (address[] memory) {
        return _authorities.values();
    }

    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }

    function proposal(uint256 proposalId)
        external
        view
        returns (uint8 kind, address proposer, uint64 expiresAt, bool executed, bytes memory data)
    {
        if (proposalId >= _proposals.length) revert AuthorityCouncilUnknownProposal(proposalId);
        Proposal storage p = _proposals[proposalId];
        return (p.kind, p.proposer, p.expiresAt, p.executed, p.data);
    }

    function hasApproved(uint256 proposalId, address authority) external view returns (bool) {
        return _approved[proposalId][authority];
    }

    /// @notice Approvals of a proposal by current authorities.
    function approvalCount(uint256 proposalId) public view returns (uint256 count) {
        uint256 n = _authorities.length();
        for (uint256 k = 0; k < n; ++k) {
            if (_approved[proposalId][_authorities.at(k)]) ++count;
        }
    }

    function institutionOf(address institution)
        external
        view
        returns (bool active, uint32 staffQuota, uint32 staffCount)
    {
        Institution storage i = _institutions[institution];
        return (i.active, i.staffQuota, i.staffCount);
    }

    /// @notice The institution that certified `practitioner`, or zero.
    function employerOf(address practitioner) external view returns (address) {
        return _employer[practitioner];
    }

    // ---------------------------------------------------------------------------------------------------- internal

    function _propose(uint8 kind, bytes memory data) private onlyAuthority returns (uint256 proposalId) {
        proposalId = _proposals.length;
        _proposals.push(
            Proposal({
                kind: kind,
                executed: false,
                expiresAt: uint64(block.timestamp + _parameters.proposalLifetime),
                proposer: msg.sender,
                data: data
            })
        );
        emit ProposalCreated(proposalId, kind, msg.sender, data);
        _approve(proposalId);
    }

    function _approve(uint256 proposalId) private {
        if (_approved[proposalId][msg.sender]) revert AuthorityCouncilAlreadyApproved(proposalId, msg.sender);
        _approved[proposalId][msg.sender] = true;
        emit ProposalApproved(proposalId, msg.sender);
    }

    function _openProposal(uint256 proposalId) private view returns (Proposal storage p) {
        if (proposalId >= _proposals.length) revert AuthorityCouncilUnknownProposal(proposalId);
        p = _proposals[proposalId];
        if (p.executed || block.timestamp > p.expiresAt) revert AuthorityCouncilProposalClosed(proposalId);
    }

    function _setThreshold(uint256 threshold_) private {
        uint256 n = _authorities.length();
        if (threshold_ == 0 || threshold_ > n) revert AuthorityCouncilInvalidThreshold(threshold_, n);
        _threshold = threshold_;
        emit ThresholdChanged(threshold_);
    }

    function _setParameters(Parameters memory p) private {
        _checkParameters(p);
        _parameters = p;
        emit ParametersChanged(p);
    }

    function _checkParameters(Parameters memory p) private pure {
        if (
            p.reviewSize == 0 || p.reviewSize > _MAX_REVIEW_SIZE || p.quorum == 0 || p.quorum > p.reviewSize
                || p.slashBps > _BPS || p.bondReturnBps > _BPS || p.commitWindow == 0 || p.revealWindow == 0
                || p.certificationValidity == 0 || p.proposalLifetime == 0 || p.reviewerStake == 0
                || p.treasury == address(0)
        ) revert AuthorityCouncilInvalidParameters();
    }

    function _dropStaff(address institution, address practitioner) private {
        --_institutions[institution].staffCount;
        delete _employer[practitioner];
        emit StaffRevoked(institution, practitioner);
    }

    /// @dev Once per account and role: renewals are not a way to farm points.
    function _reward(address account, uint8 role) private {
        uint256 amount = _parameters.certificationReward;
        if (amount == 0 || _rewarded[account][role]) return;
        _rewarded[account][role] = true;
        _points.mint(account, amount, _CERTIFICATION_REWARD);
    }
}
