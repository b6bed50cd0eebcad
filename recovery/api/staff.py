"""A program's staff through the API, for its supervisors: the accounts, invitations by
email, deactivation (which lists the caseload to reassign) and care teams. Counselors
read a patient's care team in their reach and change nothing here (403); anything of
another program is 404. The rules are `recovery.services.staff` and `.care_team`."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api import StrictSerializer, request_user
from recovery.api.common import BoundedListField, IdField, IsClinician, refuse_body_if_any
from recovery.models import Role, StaffInvitation, User
from recovery.selectors.access import may_manage_staff, visible_enrollment
from recovery.selectors.staff import (
    care_team,
    invitation_row,
    open_invitations,
    staff_account,
    staff_accounts,
    staff_caseload,
    staff_row,
)
from recovery.services import care_team as care_team_services
from recovery.services import staff as staff_services
from recovery.services.audit import RequestMeta


class IsProgramSupervisor(IsClinician):
    message = "Only the program's supervisors manage its staff."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return super().has_permission(request, view) and may_manage_staff(request.user)


class StaffSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=[Role.COUNSELOR, Role.SUPERVISOR])
    is_active = serializers.BooleanField()
    has_second_factor = serializers.BooleanField()


class CaseloadEntrySerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    name = serializers.CharField()
    is_primary = serializers.BooleanField()


class StaffDetailSerializer(StaffSerializer):
    caseload = CaseloadEntrySerializer(many=True, help_text="Active patients to reassign.")


class InvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending", "expired", "accepted", "revoked"])
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()


class InviteSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=[Role.COUNSELOR, Role.SUPERVISOR])
    first_name = serializers.CharField(max_length=150, required=False, default="")
    last_name = serializers.CharField(max_length=150, required=False, default="")


def _account(request: Request, pk: int) -> User:
    staff = staff_account(request_user(request), pk)
    if staff is None:
        raise Http404
    return staff


def _detail(request: Request, staff: User) -> dict[str, Any]:
    return {**staff_row(staff), "caseload": staff_caseload(request_user(request), staff)}


class StaffList(APIView):
    permission_classes = [IsProgramSupervisor]

    @extend_schema(responses={200: StaffSerializer(many=True)})
    def get(self, request: Request) -> Response:
        rows = [staff_row(s) for s in staff_accounts(request_user(request))]
        return Response(StaffSerializer(rows, many=True).data)


class StaffDetail(APIView):
    permission_classes = [IsProgramSupervisor]

    @extend_schema(responses={200: StaffDetailSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return Response(StaffDetailSerializer(_detail(request, _account(request, pk))).data)


class StaffDeactivate(APIView):
    """The account is disabled; its tokens and sockets end at once. Answers the caseload
    it leaves behind, to reassign (PUT patients/<id>/care-team/)."""

    permission_classes = [IsProgramSupervisor]

    @extend_schema(request=None, responses={200: StaffDetailSerializer})
    def post(self, request: Request, pk: int) -> Response:
        refuse_body_if_any(request)
        staff = staff_services.staff_deactivate(
            actor=request_user(request), staff=_account(request, pk), meta=RequestMeta.of(request)
        )
        return Response(StaffDetailSerializer(_detail(request, _account(request, staff.id))).data)


class StaffReactivate(APIView):
    permission_classes = [IsProgramSupervisor]

    @extend_schema(request=None, responses={200: StaffDetailSerializer})
    def post(self, request: Request, pk: int) -> Response:
        refuse_body_if_any(request)
        staff = staff_services.staff_reactivate(
            actor=request_user(request), staff=_account(request, pk), meta=RequestMeta.of(request)
        )
        return Response(StaffDetailSerializer(_detail(request, _account(request, staff.id))).data)


def _invitation(request: Request, pk: int) -> StaffInvitation:
    invitation = open_invitations(request_user(request)).filter(id=pk).first()
    if invitation is None:
        raise Http404
    return invitation


class InvitationList(APIView):
    """Open invitations (pending or expired); POST invites by email."""

    permission_classes = [IsProgramSupervisor]

    @extend_schema(responses={200: InvitationSerializer(many=True)})
    def get(self, request: Request) -> Response:
        rows = [invitation_row(i) for i in open_invitations(request_user(request))]
        return Response(InvitationSerializer(rows, many=True).data)

    @extend_schema(request=InviteSerializer, responses={201: InvitationSerializer})
    def post(self, request: Request) -> Response:
        serializer = InviteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation = staff_services.staff_invite(
            actor=request_user(request),
            link_for=staff_services.accept_link_for(request),
            meta=RequestMeta.of(request),
            **serializer.validated_data,
        )
        return Response(
            InvitationSerializer(invitation_row(invitation)).data, status=status.HTTP_201_CREATED
        )


class InvitationReissue(APIView):
    """A new link, mailed again, with a new expiry; the old link stops working."""

    permission_classes = [IsProgramSupervisor]

    @extend_schema(request=None, responses={200: InvitationSerializer})
    def post(self, request: Request, pk: int) -> Response:
        refuse_body_if_any(request)
        invitation = staff_services.invitation_reissue(
            actor=request_user(request),
            invitation=_invitation(request, pk),
            link_for=staff_services.accept_link_for(request),
            meta=RequestMeta.of(request),
        )
        return Response(InvitationSerializer(invitation_row(invitation)).data)


class InvitationRevoke(APIView):
    permission_classes = [IsProgramSupervisor]

    @extend_schema(request=None, responses={200: InvitationSerializer})
    def post(self, request: Request, pk: int) -> Response:
        refuse_body_if_any(request)
        invitation = staff_services.invitation_revoke(
            actor=request_user(request),
            invitation=_invitation(request, pk),
            meta=RequestMeta.of(request),
        )
        return Response(InvitationSerializer(invitation_row(invitation)).data)


class CareTeamMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField()
    is_active = serializers.BooleanField()
    is_primary = serializers.BooleanField()


class CareTeamSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    primary_counselor = serializers.IntegerField()
    members = CareTeamMemberSerializer(many=True)


class CareTeamChangeSerializer(StrictSerializer):
    primary_counselor = IdField()
    members = BoundedListField(
        child=IdField(),
        max_length=care_team_services.MAX_CARE_TEAM,
        help_text="Everyone on the team; the primary counselor is added if missing.",
    )


class CareTeamView(APIView):
    """A patient's care team: read by staff who see the patient, set (PUT, the whole
    team) by the program's supervisors."""

    permission_classes = [IsClinician]

    def check_permissions(self, request: Request) -> None:
        super().check_permissions(request)
        if request.method not in permissions.SAFE_METHODS and not may_manage_staff(request.user):
            # 404 first for a patient out of reach, as everywhere else.
            visible_enrollment(request_user(request), int(self.kwargs["pk"]))
            self.permission_denied(request, message="Only supervisors change care teams.")

    @extend_schema(responses={200: CareTeamSerializer})
    def get(self, request: Request, pk: int) -> Response:
        enrollment = visible_enrollment(request_user(request), pk)
        return Response(CareTeamSerializer(care_team(enrollment)).data)

    @extend_schema(request=CareTeamChangeSerializer, responses={200: CareTeamSerializer})
    def put(self, request: Request, pk: int) -> Response:
        enrollment = visible_enrollment(request_user(request), pk)
        serializer = CareTeamChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        changed = care_team_services.care_team_set(
            actor=request_user(request),
            enrollment=enrollment,
            member_ids=data["members"],
            primary_id=data["primary_counselor"],
            meta=RequestMeta.of(request),
        )
        return Response(CareTeamSerializer(care_team(changed)).data)
